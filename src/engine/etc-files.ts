/**
 * The per-container /etc/hosts, /etc/hostname and /etc/resolv.conf, written
 * into the container's directory and bind-mounted over the image's, as
 * Docker does (libnetwork's etchosts and resolvconf packages):
 *
 * - --network host: the host's /etc/hosts and /etc/resolv.conf, unchanged
 *   (the container shares the host's network, loopback resolvers included);
 * - otherwise (a private network namespace): Docker's localhost lines plus
 *   the container's hostname, and the host's resolv.conf without loopback
 *   nameservers (they are unreachable from another network namespace) and
 *   without IPv6 ones (the container has no IPv6 route); when none is left,
 *   Google's 8.8.8.8 and 8.8.4.4, as Docker falls back to.
 */
import { existsSync, readFileSync } from "node:fs";
import type { NetworkMode } from "./network-options.ts";

/** libnetwork's default /etc/hosts lines. */
const DEFAULT_HOSTS = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

export const DEFAULT_NAMESERVERS = ["8.8.8.8", "8.8.4.4"];

export const HOST_HOSTS_PATH = "/etc/hosts";
export const HOST_RESOLV_CONF_PATH = "/etc/resolv.conf";
/** systemd-resolved's list of real upstream servers (the stub at 127.0.0.53 is loopback-only). */
export const SYSTEMD_RESOLV_CONF_PATH = "/run/systemd/resolve/resolv.conf";

/** /etc/hostname: the hostname and a newline. */
export function hostnameFile(hostname: string): string {
  return `${hostname}\n`;
}

/**
 * /etc/hosts for a container with its own network namespace: the localhost
 * lines and the container's hostname on its address (Docker's "IP\tHOSTNAME"
 * line), or on the loopback address when it has none (--network none, or a
 * bridge container not started yet), so that resolving the container's own
 * name works as it does under Docker.
 */
export function hostsFile(hostname: string, address = "127.0.0.1"): string {
  return `${[...DEFAULT_HOSTS, `${address}\t${hostname}`].join("\n")}\n`;
}

const NAMESERVER = /^\s*nameserver\s+(\S+)/;

function isLoopback(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === "::1";
}

function nameserversOf(content: string): string[] {
  const out: string[] = [];
  for (const line of content.split("\n")) {
    const m = NAMESERVER.exec(line);
    if (m?.[1] !== undefined) out.push(m[1]);
  }
  return out;
}

/**
 * resolv.conf for a container with its own network namespace, from the
 * host's: loopback and IPv6 nameservers removed, search and options kept,
 * 8.8.8.8 and 8.8.4.4 when no nameserver is left.
 */
export function containerResolvConf(hostResolvConf: string | undefined): string {
  const kept: string[] = [];
  let nameservers = 0;
  for (const line of (hostResolvConf ?? "").split("\n")) {
    const m = NAMESERVER.exec(line);
    if (m?.[1] !== undefined) {
      if (isLoopback(m[1]) || m[1].includes(":")) continue;
      nameservers++;
    }
    kept.push(line);
  }
  while (kept.length > 0 && kept[kept.length - 1]?.trim() === "") kept.pop();
  if (nameservers === 0) kept.push(...DEFAULT_NAMESERVERS.map((ns) => `nameserver ${ns}`));
  return `${kept.join("\n")}\n`;
}

/**
 * The host resolv.conf a private-network container's file is made from:
 * /etc/resolv.conf, or systemd-resolved's upstream list when /etc/resolv.conf
 * names only its loopback stub (Docker makes the same choice).
 */
export function hostResolvConfForPrivateNetwork(
  resolvConfPath = HOST_RESOLV_CONF_PATH,
  systemdPath = SYSTEMD_RESOLV_CONF_PATH,
): string | undefined {
  const content = readOptional(resolvConfPath);
  if (content === undefined) return undefined;
  const servers = nameserversOf(content);
  if (servers.length > 0 && servers.every((s) => s === "127.0.0.53") && existsSync(systemdPath)) {
    return readOptional(systemdPath);
  }
  return content;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

export interface EtcFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export interface EtcFilesHost {
  /** the host's /etc/hosts (host network), default read from HOST_HOSTS_PATH */
  hosts?: string;
  /** the host's /etc/resolv.conf for host network, default read from HOST_RESOLV_CONF_PATH */
  resolvConf?: string;
  /** the resolv.conf a private network starts from, default hostResolvConfForPrivateNetwork() */
  privateResolvConf?: string;
}

/** The three files' contents for a container. `host` overrides what is read from the host (tests). */
export function etcFilesFor(network: NetworkMode, hostname: string, host: EtcFilesHost = {}): EtcFiles {
  if (network === "host") {
    return {
      hosts: host.hosts ?? readOptional(HOST_HOSTS_PATH) ?? hostsFile(hostname),
      hostname: hostnameFile(hostname),
      resolvConf: host.resolvConf ?? readOptional(HOST_RESOLV_CONF_PATH) ?? containerResolvConf(undefined),
    };
  }
  return {
    hosts: hostsFile(hostname),
    hostname: hostnameFile(hostname),
    resolvConf: containerResolvConf(host.privateResolvConf ?? hostResolvConfForPrivateNetwork()),
  };
}
