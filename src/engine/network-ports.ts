/**
 * Published ports: `-p/--publish` parsed with Docker's rules and wording
 * (go-connections nat.ParsePortSpec), Docker's shapes of them
 * (HostConfig.PortBindings, Config.ExposedPorts, NetworkSettings.Ports), and
 * the text `ps` and `port` print. Pure functions: no host state.
 */
import { ContainrError } from "../diag/errors.ts";
import { parseIPv4 } from "../linux/network/ipv4.ts";
import type { Protocol } from "../linux/network/host-ports.ts";

/** One container port to publish, as parsed (before host ports are chosen). */
export interface PortBinding {
  containerPort: number;
  proto: Protocol;
  /** "" for every address (Docker's 0.0.0.0) */
  hostIp: string;
  /** "" for a random port, "8080", or a range "8000-8010" to pick one from */
  hostPort: string;
}

/** A port published by a running container: what `port`, `ps` and inspect show. */
export interface PublishedPort {
  containerPort: number;
  proto: Protocol;
  /** "0.0.0.0" for every address */
  hostIp: string;
  hostPort: number;
}

/** Docker's HostConfig.PortBindings: "80/tcp" → [{HostIp, HostPort}]. */
export type PortBindings = Record<string, { HostIp: string; HostPort: string }[]>;

function usage(message: string): ContainrError {
  return new ContainrError("USAGE", message, {
    hint: "write -p [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp], ports or ranges such as 8000-8001:80-81",
  });
}

/** "80" or "80-81" → [80, 81]; undefined when malformed or out of 1-65535. */
function parseRange(text: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (m === null) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < 1 || to > 65535 || to < from) return undefined;
  return [from, to];
}

/** One -p value → its bindings (a range gives one per port). */
export function parsePublish(spec: string): PortBinding[] {
  const slash = spec.lastIndexOf("/");
  const body = slash < 0 ? spec : spec.slice(0, slash);
  const proto = slash < 0 ? "tcp" : spec.slice(slash + 1).toLowerCase();
  if (proto !== "tcp" && proto !== "udp") {
    throw usage(proto === "sctp" ? `invalid port spec ${spec}: sctp is not supported by containr` : `invalid proto: ${proto}`);
  }
  if (body.startsWith("[")) throw usage(`invalid port spec ${spec}: IPv6 host addresses are not supported (the bridge is IPv4 only)`);
  const parts = body.split(":");
  if (parts.length > 3) throw usage(`invalid port format for --publish: ${spec}`);
  const containerText = parts[parts.length - 1] as string;
  const hostText = parts.length >= 2 ? (parts[parts.length - 2] as string) : "";
  const hostIp = parts.length === 3 ? (parts[0] as string) : "";
  if (containerText === "") throw usage(`no port specified: ${spec}<empty>`);
  if (hostIp !== "" && parseIPv4(hostIp) === undefined) throw usage(`invalid IP address: ${hostIp}`);
  const container = parseRange(containerText);
  if (container === undefined) throw usage(`invalid containerPort: ${containerText}`);
  const host = hostText === "" ? undefined : parseRange(hostText);
  if (hostText !== "" && host === undefined) throw usage(`invalid hostPort: ${hostText}`);
  const count = container[1] - container[0] + 1;
  if (host !== undefined && count > 1 && host[1] - host[0] + 1 !== count) {
    throw usage(`invalid ranges specified for container and host Ports: ${containerText} and ${hostText}`);
  }
  const ip = hostIp === "0.0.0.0" ? "" : hostIp;
  const out: PortBinding[] = [];
  for (let i = 0; i < count; i++) {
    let hostPort = "";
    if (host !== undefined) hostPort = count > 1 || host[0] === host[1] ? String(host[0] + i) : `${host[0]}-${host[1]}`;
    out.push({ containerPort: container[0] + i, proto, hostIp: ip, hostPort });
  }
  return out;
}

export const portKey = (port: number, proto: string) => `${port}/${proto}`;

/** "80/tcp" → [80, "tcp"]; undefined for anything else. */
export function parsePortKey(key: string): { port: number; proto: Protocol } | undefined {
  const m = /^(\d+)\/(tcp|udp)$/.exec(key);
  return m === null ? undefined : { port: Number(m[1]), proto: m[2] as Protocol };
}

export function toPortBindings(bindings: readonly PortBinding[]): PortBindings {
  const out: PortBindings = {};
  for (const b of bindings) (out[portKey(b.containerPort, b.proto)] ??= []).push({ HostIp: b.hostIp, HostPort: b.hostPort });
  return out;
}

/**
 * What a start publishes: the bindings -p gave and, with -P, every exposed
 * port that -p did not bind, on a random host port (Docker's PublishAllPorts).
 */
export function bindingsToPublish(portBindings: PortBindings, publishAll: boolean, exposed: readonly string[]): PortBinding[] {
  const out: PortBinding[] = [];
  for (const [key, list] of Object.entries(portBindings)) {
    const parsed = parsePortKey(key);
    if (parsed === undefined) continue;
    for (const b of list) out.push({ containerPort: parsed.port, proto: parsed.proto, hostIp: b.HostIp, hostPort: b.HostPort });
  }
  if (publishAll) {
    for (const key of exposed) {
      const parsed = parsePortKey(key);
      if (parsed === undefined || portBindings[key] !== undefined) continue;
      out.push({ containerPort: parsed.port, proto: parsed.proto, hostIp: "", hostPort: "" });
    }
  }
  return out;
}

/** NetworkSettings.Ports: every exposed port, with its host bindings or null. */
export function networkSettingsPorts(exposed: readonly string[], published: readonly PublishedPort[]): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const key of exposed) out[key] = null;
  for (const p of published) {
    const key = portKey(p.containerPort, p.proto);
    (out[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  return out;
}

/**
 * `ps`'s PORTS column as docker prints it: "0.0.0.0:8080->80/tcp" per
 * published port, consecutive ones merged into ranges
 * ("0.0.0.0:8000-8001->80-81/tcp"), then the exposed ports nobody
 * published ("443/tcp").
 */
export function formatPortsColumn(exposed: readonly string[], published: readonly PublishedPort[]): string {
  const sorted = [...published].sort((a, b) => a.proto.localeCompare(b.proto) || a.hostIp.localeCompare(b.hostIp) || a.containerPort - b.containerPort);
  const groups: { first: PublishedPort; last: PublishedPort }[] = [];
  for (const p of sorted) {
    const g = groups[groups.length - 1];
    if (g !== undefined && g.last.proto === p.proto && g.last.hostIp === p.hostIp && p.containerPort === g.last.containerPort + 1 && p.hostPort === g.last.hostPort + 1) {
      g.last = p;
    } else {
      groups.push({ first: p, last: p });
    }
  }
  const range = (a: number, b: number) => (a === b ? `${a}` : `${a}-${b}`);
  const parts = groups.map(({ first, last }) => `${first.hostIp}:${range(first.hostPort, last.hostPort)}->${range(first.containerPort, last.containerPort)}/${first.proto}`);
  const bound = new Set(published.map((p) => portKey(p.containerPort, p.proto)));
  for (const key of [...exposed].sort()) if (!bound.has(key)) parts.push(key);
  return parts.join(", ");
}
