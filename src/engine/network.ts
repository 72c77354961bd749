/**
 * Bridge networking (ADR 0008), Docker's default network: every container
 * on it gets an address from 10.89.0.0/16, a veth pair whose host end is
 * on the bridge containr0 (gateway 10.89.0.1) and whose other end is its
 * eth0, a default route through the gateway, outgoing NAT, and DNAT rules
 * for its published ports.
 *
 * A start does it in two halves around the runtime's create:
 *   1. allocateNetwork, before the create: the address and host ports
 *      (under the allocation lock), and /etc/hosts with the address (it is
 *      bind-mounted by the create);
 *   2. connectNetwork, after the create (the init exists, in its own network
 *      namespace, waiting on the exec fifo) and before the release: the
 *      bridge (first use), the veth pair, the interfaces inside, the rules.
 * releaseNetwork undoes both wherever a run ends; the veth goes with the
 * namespace, the rules and the allocation are ours to remove.
 *
 * A user-defined network (ADR 0009, network-store.ts) works the same way
 * on its own bridge and subnet, with its own allocations
 * (/run/containr/networks/BRIDGE), its own rules (tagged with its id) and
 * name resolution: every container on it has a line in the others'
 * /etc/hosts, rewritten in place whenever one joins or leaves.
 */
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ContainrError, toContainrError } from "../diag/errors.ts";
import { failpoint } from "../diag/failpoints.ts";
import { log } from "../diag/log.ts";
import { enableIPv4Forwarding, enableRouteLocalnet } from "../linux/network/sysctl.ts";
import {
  baseRules,
  baseRulesInstalled,
  deleteTaggedRules,
  dnatRules,
  ISOLATION_CHAIN,
  runNft,
  USER_NAT_CHAIN,
  userNetworkRules,
  userNetworkRulesInstalled,
  type NatNetwork,
} from "../linux/network/nftables.ts";
import { parseIPv4, parseSubnet } from "../linux/network/ipv4.ts";
import { configureContainerInterface, createVeth, deleteLink, ensureBridge } from "../native/netlink.ts";
import { replaceFile } from "../native/replace-file.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import type { HostConfig } from "./create.ts";
import { hostsFile } from "./etc-files.ts";
import { allocate, findAttachment, listAttachments, release, withAllocationLock, type Attachment, type Pool } from "./network-ipam.ts";
import { bridgeName, NetworkStore, USER_BRIDGE_WILDCARD, type UserNetwork } from "./network-store.ts";
import { bindingsToPublish, type PublishedPort } from "./network-ports.ts";
import type { ContainerRecord } from "./records.ts";
import { shortId } from "./ids.ts";

/** Docker's default bridge, containr's addresses (Docker's 172.17.0.0/16 is left to Docker). */
export const BRIDGE = {
  /** the network's name (inspect's Networks key, --network's value) */
  network: "bridge",
  interface: "containr0",
  subnet: "10.89.0.0/16",
  gateway: "10.89.0.1",
  /** the nftables table (family ip) */
  table: "containr",
} as const;

const EEXIST = 17;
const NAT: NatNetwork = { table: BRIDGE.table, bridge: BRIDGE.interface, subnet: BRIDGE.subnet };

/** A network a container runs on: the default bridge, or a user-defined network. */
export interface AttachedNetwork {
  name: string;
  /** a user network's id; undefined for the default bridge */
  id?: string;
  bridge: string;
  subnet: string;
  gateway: string;
  internal: boolean;
}

const DEFAULT_NETWORK: AttachedNetwork = { name: BRIDGE.network, bridge: BRIDGE.interface, subnet: BRIDGE.subnet, gateway: BRIDGE.gateway, internal: false };

export function userNetwork(network: UserNetwork): AttachedNetwork {
  return { name: network.name, id: network.id, bridge: bridgeName(network), subnet: network.subnet, gateway: network.gateway, internal: network.internal };
}

/** Every network's allocations, host-wide like the bridges, whatever --root and --runroot say (network-ipam.ts, ADR 0008). */
const NETWORKS_RUN_DIR = "/run/containr/networks";

function stateDirOf(bridge: string): string {
  return join(NETWORKS_RUN_DIR, bridge);
}

/** The default bridge's allocations. */
export function networkStateDir(): string {
  return stateDirOf(BRIDGE.interface);
}

/** A user network's description next to its allocations, for the readers that have no data root (networkOf). */
const DESCRIPTION = "network.json";

/** The pool: the subnet without its network address, gateway and broadcast. */
function poolOf(network: AttachedNetwork): Pool {
  const subnet = parseSubnet(network.subnet);
  return { subnet, reserved: [subnet.base, parseIPv4(network.gateway) as number, subnet.base + 2 ** (32 - subnet.prefix) - 1] };
}

/** The comment on a user network's rules. */
const ruleTag = (network: AttachedNetwork) => `network ${network.id}`;

/** The host end of a container's veth pair: veth + the id's first 11 characters (IFNAMSIZ is 16). */
export function hostInterfaceName(id: string): string {
  return `veth${id.slice(0, 11)}`;
}

/** Is the container on a bridge network, the default one or a user-defined one (not none, not host)? */
export function usesBridge(record: ContainerRecord): boolean {
  const mode = (record.hostConfig as HostConfig).NetworkMode;
  return mode !== "none" && mode !== "host";
}

/** The network the container's NetworkMode names; NETWORK_NOT_FOUND when a user network was removed. */
function networkOfRecord(ctx: EngineContext, record: ContainerRecord): AttachedNetwork {
  const mode = (record.hostConfig as HostConfig).NetworkMode;
  if (mode === BRIDGE.network) return DEFAULT_NETWORK;
  const store = NetworkStore.open(ctx.dataRoot);
  try {
    return userNetwork(store.get(mode));
  } finally {
    store.close();
  }
}

/** A user network's name for a container's NetworkMode, from --network's name, id or id prefix. */
export function resolveNetworkMode(dataRoot: string, mode: string): string {
  if (mode === "bridge" || mode === "none" || mode === "host") return mode;
  const store = NetworkStore.open(dataRoot);
  try {
    return store.get(mode).name;
  } finally {
    store.close();
  }
}

/**
 * Write the /etc/hosts of every container on a user network: its own
 * lines, then a line per peer (`IP NAME ALIAS... SHORTID`). The file is
 * bind-mounted into the running container, so it is rewritten in place
 * (same inode: O_TRUNC and write), never replaced; the caller holds the
 * network's allocation lock, so writers never interleave.
 */
function writeHostsFiles(attachments: readonly Attachment[]): void {
  for (const self of attachments) {
    const peers = attachments.filter((a) => a !== self).map((a) => `${a.address}\t${(a.names ?? []).join(" ")}\n`);
    const content = hostsFile(self.hostname ?? self.container.slice(0, 12), self.address) + peers.join("");
    try {
      const fd = openSync(join(self.containerDir, "hosts"), constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW);
      try {
        writeSync(fd, content);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      // ENOENT: a container removed without its release (a stale attachment), nothing to update; any
      // other failure costs that container its peers' names, never another container's start or stop
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") log.warn(`update the /etc/hosts of ${self.container}: ${(err as Error).message}`);
    }
  }
}

/** The onChange of a network's allocations: peers' /etc/hosts on user networks, nothing on the default bridge. */
function hostsUpdaterOf(bridge: string): ((attachments: Attachment[]) => void) | undefined {
  return bridge === BRIDGE.interface ? undefined : writeHostsFiles;
}

/** What allocateNetwork hands to connectNetwork. */
export interface NetworkAttachment {
  attachment: Attachment;
  network: AttachedNetwork;
}

/** The ports the image or -p exposed (Config.ExposedPorts). */
export function exposedPorts(record: ContainerRecord): string[] {
  return Object.keys((record.config as { ExposedPorts?: Record<string, object> }).ExposedPorts ?? {});
}

/**
 * The first half of a start on the bridge: an address and the host ports,
 * and the container's /etc/hosts with its address. Throws Docker's "port is
 * already allocated" (PORT_ALLOCATED) with nothing kept.
 */
export function allocateNetwork(ctx: EngineContext, record: ContainerRecord): NetworkAttachment {
  const hostConfig = record.hostConfig as HostConfig;
  const paths = containerPaths(ctx, record.id);
  const network = networkOfRecord(ctx, record);
  const dir = stateDirOf(network.bridge);
  const hostname = (record.config as { Hostname?: string }).Hostname ?? record.id.slice(0, 12);
  const user = network.id !== undefined;
  if (user) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    replaceFile(join(dir, DESCRIPTION), JSON.stringify(network), 0o600, { durable: false });
  }
  const attachment = allocate(dir, poolOf(network), {
    container: record.id,
    containerDir: paths.data,
    hostInterface: hostInterfaceName(record.id),
    // user networks: the names peers resolve (Docker's: the name, the aliases, the short id)
    ...(user ? { names: [record.name, ...(hostConfig.NetworkAliases ?? []), shortId(record.id)], hostname } : {}),
    bindings: bindingsToPublish(hostConfig.PortBindings ?? {}, hostConfig.PublishAllPorts === true, exposedPorts(record)),
    isStale: (a) => !existsSync(a.containerDir),
    discard: discardLeftovers,
    onChange: hostsUpdaterOf(network.bridge),
  });
  if (!user) {
    try {
      replaceFile(paths.hosts, hostsFile(hostname, attachment.address), 0o644, { durable: false });
    } catch (err) {
      release(dir, record.id, discardLeftovers);
      throw err;
    }
  }
  return { attachment, network };
}

/**
 * The second half, once the init waits in its own network namespace: the
 * bridge (created on first use, idempotently), forwarding, the veth pair,
 * eth0 and lo inside, the default route, and the NAT rules: one nft
 * transaction with the base rules and the container's DNAT rules, skipped
 * when there is no port to publish and the base rules are in place.
 */
export function connectNetwork({ attachment, network }: NetworkAttachment, initPid: number): void {
  const prefix = parseSubnet(network.subnet).prefix;
  ensureBridge(network.bridge, network.gateway, prefix);
  enableIPv4Forwarding();
  enableRouteLocalnet(network.bridge);
  const netns = openSync(`/proc/${initPid}/ns/net`, constants.O_RDONLY);
  try {
    const veth = { hostName: attachment.hostInterface, bridge: network.bridge, netnsFd: netns, peerName: "eth0", peerMac: attachment.mac };
    try {
      createVeth(veth);
    } catch (err) {
      // the same container's previous run: the kernel destroys a dead namespace's veth asynchronously
      if (toContainrError(err).errno !== EEXIST) throw err;
      deleteLink(veth.hostName);
      createVeth(veth);
    }
    // an internal network: no default route (0.0.0.0 adds none), its subnet only
    configureContainerInterface(netns, "eth0", attachment.address, prefix, network.internal ? "0.0.0.0" : network.gateway);
  } finally {
    closeSync(netns);
  }
  if (network.id !== undefined) ensureUserNetworkRules(network);
  // published ports: one transaction with the base rules (repairing them if need be); none: nothing
  // to run when this version's base rules are there already (a netlink look-up, not an nft process)
  if (attachment.ports.length > 0 || !baseRulesInstalled(NAT)) {
    const dnat = attachment.ports.map((p) => ({ ...p, containerIp: attachment.address }));
    runNft([...baseRules(NAT), ...dnatRules(NAT, attachment.container, dnat)], `set up the NAT rules of ${attachment.container}`);
  }
  failpoint("engine.start.network");
}

/**
 * What an attachment leaves on the host: its DNAT rules. Its veth goes with
 * the network namespace (deleting it here would cost an RCU grace period,
 * about 20 ms, on every exit; a next start of the same container replaces
 * one the kernel has not destroyed yet). A failure is reported and the
 * address freed anyway.
 */
function discardLeftovers(attachment: Attachment): void {
  if (attachment.ports.length === 0) return;
  try {
    deleteTaggedRules(NAT, attachment.container);
  } catch (err) {
    log.warn(`remove the port rules of ${attachment.container}: ${toContainrError(err).message}`);
  }
}

/**
 * A user network's NAT and isolation rules (nftables.ts), added by its
 * first container's start, under the network's lock so that concurrent
 * first starts add them once; they stay until `network rm`.
 */
function ensureUserNetworkRules(network: AttachedNetwork): void {
  const tag = ruleTag(network);
  if (userNetworkRulesInstalled(BRIDGE.table, tag)) return;
  withAllocationLock(stateDirOf(network.bridge), () => {
    if (userNetworkRulesInstalled(BRIDGE.table, tag)) return;
    runNft(
      userNetworkRules({
        table: BRIDGE.table,
        bridge: network.bridge,
        subnet: network.subnet,
        internal: network.internal,
        defaultBridge: BRIDGE.interface,
        userBridges: USER_BRIDGE_WILDCARD,
        tag,
      }),
      `set up the rules of network ${network.name}`,
    );
  });
}

/** The bridges whose allocations exist (the default bridge first): where a container may hold an address. */
function bridgesInUse(): string[] {
  let names: string[];
  try {
    names = readdirSync(NETWORKS_RUN_DIR);
  } catch {
    // ENOENT: nothing ever ran on a network; EACCES: a caller without root
    return [];
  }
  return [BRIDGE.interface, ...names.filter((n) => n !== BRIDGE.interface)];
}

/** The bridge a container holds an address on, if any. */
function bridgeOf(id: string): string | undefined {
  return bridgesInUse().find((bridge) => findAttachment(stateDirOf(bridge), id) !== undefined);
}

/**
 * Release what a container's run holds on its network: its rules, its
 * address and ports, and its line in its peers' /etc/hosts. Idempotent,
 * and a few file reads when the container holds nothing (--network
 * none|host, or released already).
 */
export function releaseNetwork(id: string): void {
  const bridge = bridgeOf(id);
  if (bridge === undefined) return;
  release(stateDirOf(bridge), id, discardLeftovers, hostsUpdaterOf(bridge));
}

export interface NetworkEndpoint {
  address: string;
  mac: string;
  ports: PublishedPort[];
  gateway: string;
  prefix: number;
  /** a user network's id; undefined on the default bridge */
  networkId?: string;
}

function describedNetwork(bridge: string): AttachedNetwork {
  if (bridge === BRIDGE.interface) return DEFAULT_NETWORK;
  return JSON.parse(readFileSync(join(stateDirOf(bridge), DESCRIPTION), "utf8")) as AttachedNetwork;
}

/** The running container's address and ports, for inspect, ps and port; undefined when it holds none. */
export function networkOf(id: string): NetworkEndpoint | undefined {
  for (const bridge of bridgesInUse()) {
    const found = findAttachment(stateDirOf(bridge), id);
    if (found === undefined) continue;
    const network = describedNetwork(bridge);
    const gateway = network.internal ? "" : network.gateway;
    return { address: found.address, mac: found.mac, ports: found.ports, gateway, prefix: parseSubnet(network.subnet).prefix, networkId: network.id };
  }
  return undefined;
}

/** The containers running on a user network (stale attachments, whose container is gone, left out). */
export function endpointsOf(network: UserNetwork): Attachment[] {
  return listAttachments(stateDirOf(bridgeName(network))).filter((a) => existsSync(a.containerDir));
}

/**
 * Remove a user network from the host: refused (Docker's wording) while a
 * container runs on it; otherwise its rules, its bridge and its
 * allocations go, under its lock, and then its row.
 */
export function removeUserNetwork(store: NetworkStore, network: UserNetwork): void {
  const attached = userNetwork(network);
  const dir = stateDirOf(attached.bridge);
  withAllocationLock(dir, () => {
    if (endpointsOf(network).length > 0) {
      throw new ContainrError("NETWORK_IN_USE", `error while removing network: network ${network.name} id ${network.id} has active endpoints`, {
        hint: "stop or remove the containers on it first (`containr network inspect` lists them)",
      });
    }
    deleteTaggedRules(NAT, ruleTag(attached), [USER_NAT_CHAIN, ISOLATION_CHAIN]);
    deleteLink(attached.bridge);
    store.delete(network);
  });
  rmSync(dir, { recursive: true, force: true });
}

/** A network as `network ls` and `network inspect` see it: the built-in ones and the user-defined ones. */
export interface NetworkView {
  id: string;
  name: string;
  /** Docker's drivers: bridge for bridges, host, null for none */
  driver: string;
  created: string;
  subnet?: string;
  gateway?: string;
  internal: boolean;
  labels: Record<string, string>;
  /** the bridge holding its containers' addresses; undefined for host and none */
  bridge?: string;
  user: boolean;
}

/** Every network, by name: bridge, host, none, and the store's. */
export function listNetworks(store: NetworkStore, builtinId: (name: string) => string): NetworkView[] {
  const epoch = new Date(0).toISOString();
  const builtin: NetworkView[] = [
    { ...DEFAULT_NETWORK, id: builtinId("bridge"), driver: "bridge", created: epoch, labels: {}, user: false },
    { id: builtinId("host"), name: "host", driver: "host", created: epoch, internal: false, labels: {}, user: false },
    { id: builtinId("none"), name: "none", driver: "null", created: epoch, internal: false, labels: {}, user: false },
  ];
  const user = store.list().map((n): NetworkView => ({ ...n, driver: "bridge", bridge: bridgeName(n), user: true }));
  return [...builtin, ...user].sort((a, b) => a.name.localeCompare(b.name));
}

/** Docker's NetworkResource (docker network inspect), for the fields containr has. */
export function inspectNetwork(network: NetworkView): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  if (network.bridge !== undefined && network.subnet !== undefined) {
    const prefix = parseSubnet(network.subnet).prefix;
    for (const a of listAttachments(stateDirOf(network.bridge)).filter((e) => existsSync(e.containerDir))) {
      containers[a.container] = { Name: a.names?.[0] ?? "", MacAddress: a.mac, IPv4Address: `${a.address}/${prefix}`, IPv6Address: "" };
    }
  }
  return {
    Name: network.name,
    Id: network.id,
    Created: network.created,
    Scope: "local",
    Driver: network.driver,
    EnableIPv6: false,
    IPAM: {
      Driver: "default",
      Options: null,
      Config: network.subnet === undefined ? [] : [{ Subnet: network.subnet, Gateway: network.gateway }],
    },
    Internal: network.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: containers,
    Options: network.bridge === undefined ? {} : { "com.docker.network.bridge.name": network.bridge },
    Labels: network.labels,
  };
}
