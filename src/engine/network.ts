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
 */
import { closeSync, constants, existsSync, openSync } from "node:fs";
import { toContainrError } from "../diag/errors.ts";
import { failpoint } from "../diag/failpoints.ts";
import { log } from "../diag/log.ts";
import { enableIPv4Forwarding, enableRouteLocalnet } from "../linux/network/sysctl.ts";
import { baseRules, baseRulesInstalled, deleteTaggedRules, dnatRules, runNft, type NatNetwork } from "../linux/network/nftables.ts";
import { parseIPv4, parseSubnet } from "../linux/network/ipv4.ts";
import { configureContainerInterface, createVeth, deleteLink, ensureBridge } from "../native/netlink.ts";
import { replaceFile } from "../native/replace-file.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import type { HostConfig } from "./create.ts";
import { hostsFile } from "./etc-files.ts";
import { allocate, findAttachment, release, type Attachment } from "./network-ipam.ts";
import { bindingsToPublish, type PublishedPort } from "./network-ports.ts";
import type { ContainerRecord } from "./records.ts";

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

const SUBNET = parseSubnet(BRIDGE.subnet);
const EEXIST = 17;
const NAT: NatNetwork = { table: BRIDGE.table, bridge: BRIDGE.interface, subnet: BRIDGE.subnet };

/** The bridge's allocations, host-wide like the bridge, whatever --root and --runroot say (network-ipam.ts, ADR 0008). */
export function networkStateDir(): string {
  return `/run/containr/networks/${BRIDGE.interface}`;
}

/** The pool: the subnet without its network address, gateway and broadcast. */
const POOL = {
  subnet: SUBNET,
  reserved: [SUBNET.base, parseIPv4(BRIDGE.gateway) as number, SUBNET.base + 2 ** (32 - SUBNET.prefix) - 1],
};

/** The host end of a container's veth pair: veth + the id's first 11 characters (IFNAMSIZ is 16). */
export function hostInterfaceName(id: string): string {
  return `veth${id.slice(0, 11)}`;
}

export function usesBridge(record: ContainerRecord): boolean {
  return (record.hostConfig as HostConfig).NetworkMode === BRIDGE.network;
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
export function allocateNetwork(ctx: EngineContext, record: ContainerRecord): Attachment {
  const hostConfig = record.hostConfig as HostConfig;
  const paths = containerPaths(ctx, record.id);
  const attachment = allocate(networkStateDir(), POOL, {
    container: record.id,
    containerDir: paths.data,
    hostInterface: hostInterfaceName(record.id),
    bindings: bindingsToPublish(hostConfig.PortBindings ?? {}, hostConfig.PublishAllPorts === true, exposedPorts(record)),
    isStale: (a) => !existsSync(a.containerDir),
    discard: discardLeftovers,
  });
  try {
    const hostname = (record.config as { Hostname?: string }).Hostname ?? record.id.slice(0, 12);
    replaceFile(paths.hosts, hostsFile(hostname, attachment.address), 0o644, { durable: false });
  } catch (err) {
    release(networkStateDir(), record.id, discardLeftovers);
    throw err;
  }
  return attachment;
}

/**
 * The second half, once the init waits in its own network namespace: the
 * bridge (created on first use, idempotently), forwarding, the veth pair,
 * eth0 and lo inside, the default route, and the NAT rules: one nft
 * transaction with the base rules and the container's DNAT rules, skipped
 * when there is no port to publish and the base rules are in place.
 */
export function connectNetwork(attachment: Attachment, initPid: number): void {
  ensureBridge(BRIDGE.interface, BRIDGE.gateway, SUBNET.prefix);
  enableIPv4Forwarding();
  enableRouteLocalnet(BRIDGE.interface);
  const netns = openSync(`/proc/${initPid}/ns/net`, constants.O_RDONLY);
  try {
    const veth = { hostName: attachment.hostInterface, bridge: BRIDGE.interface, netnsFd: netns, peerName: "eth0", peerMac: attachment.mac };
    try {
      createVeth(veth);
    } catch (err) {
      // the same container's previous run: the kernel destroys a dead namespace's veth asynchronously
      if (toContainrError(err).errno !== EEXIST) throw err;
      deleteLink(veth.hostName);
      createVeth(veth);
    }
    configureContainerInterface(netns, "eth0", attachment.address, SUBNET.prefix, BRIDGE.gateway);
  } finally {
    closeSync(netns);
  }
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
 * Release what a container's run holds on the bridge: its rules, its
 * address and ports. Idempotent, and one file read when the container
 * holds nothing (--network none|host, or released already).
 */
export function releaseNetwork(id: string): void {
  const dir = networkStateDir();
  if (findAttachment(dir, id) === undefined) return;
  release(dir, id, discardLeftovers);
}

/** The running container's address and ports, for inspect, ps and port; undefined when it holds none. */
export function networkOf(id: string): { address: string; mac: string; ports: PublishedPort[] } | undefined {
  return findAttachment(networkStateDir(), id);
}
