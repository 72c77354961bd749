/**
 * Typed wrappers over csrc/lib/netlink-*.c: the bridge, a container's veth
 * pair, and the interfaces inside its network namespace (configured from a
 * short-lived thread that joins the namespace, so this process never
 * changes its own); and two nf_tables look-ups (NETLINK_NETFILTER). Addresses are dotted IPv4 strings here and network byte
 * order in C. Each failure throws a ContainrError with the C side's context
 * ("create veth ... (the kernel's message): EEXIST: file exists") and its errno.
 */
import { dlopen, FFIType } from "bun:ffi";
import { ContainrError, fromErrno } from "../diag/errors.ts";
import { libraryPath } from "./library.ts";

const { i32, ptr, u32, u64 } = FFIType;

let lib: ReturnType<typeof load> | undefined;

function load() {
  return dlopen(libraryPath(), {
    containr_netlink_bridge_ensure: { args: [ptr, u32, i32, ptr, u64], returns: i32 },
    containr_netlink_veth_create: { args: [ptr, ptr, i32, ptr, ptr, ptr, u64], returns: i32 },
    containr_netlink_container_setup: { args: [i32, ptr, u32, i32, u32, ptr, u64], returns: i32 },
    containr_netlink_link_delete: { args: [ptr, ptr, u64], returns: i32 },
    containr_nft_chain_exists: { args: [ptr, ptr, ptr, u64], returns: i32 },
    containr_nft_tagged_rule_handles: { args: [ptr, ptr, ptr, ptr, u64, ptr, u64], returns: i32 },
  }).symbols;
}

function sym() {
  lib ??= load();
  return lib;
}

const cstr = (s: string) => Buffer.from(`${s}\0`, "utf8");

/** "10.89.0.1" as the u32 whose bytes in memory are 10, 89, 0, 1 (network order on a little- or big-endian host). */
function networkOrder(address: string): number {
  const bytes = address.split(".").map(Number);
  if (bytes.length !== 4 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) {
    throw new ContainrError("INTERNAL", `not an IPv4 address: ${address}`);
  }
  return new DataView(Uint8Array.from(bytes).buffer).getUint32(0, true);
}

/** Run one C call with an error buffer; a negative result becomes the buffer's message. */
function call(fn: (err: Buffer, len: number) => number, fallback: string): number {
  const err = Buffer.alloc(512);
  const rc = fn(err, err.length);
  if (rc >= 0) return rc;
  const end = err.indexOf(0);
  throw fromErrno(-rc, err.toString("utf8", 0, end < 0 ? err.length : end) || fallback, "NETWORK_FAILED");
}

/** Create bridge `name` with address/prefix on it, up; a bridge or address already there is fine. */
export function ensureBridge(name: string, address: string, prefix: number): void {
  call((e, n) => sym().containr_netlink_bridge_ensure(cstr(name), networkOrder(address), prefix, e, n), `create bridge ${name}`);
}

export interface VethRequest {
  /** the host end's name, enslaved to the bridge and up */
  hostName: string;
  bridge: string;
  /** an fd of the container's network namespace (/proc/PID/ns/net) */
  netnsFd: number;
  /** the peer's name inside the container */
  peerName: string;
  /** the peer's MAC, "02:42:..." */
  peerMac: string;
}

export function createVeth(r: VethRequest): void {
  const mac = Buffer.from(r.peerMac.split(":").map((h) => parseInt(h, 16)));
  if (mac.length !== 6) throw new ContainrError("INTERNAL", `not a MAC address: ${r.peerMac}`);
  call(
    (e, n) => sym().containr_netlink_veth_create(cstr(r.hostName), cstr(r.bridge), r.netnsFd, cstr(r.peerName), mac, e, n),
    `create veth ${r.hostName}`,
  );
}

/** Inside the namespace netnsFd: lo up, ifname up with address/prefix, default route via gateway. */
export function configureContainerInterface(netnsFd: number, ifname: string, address: string, prefix: number, gateway: string): void {
  call(
    (e, n) => sym().containr_netlink_container_setup(netnsFd, cstr(ifname), networkOrder(address), prefix, networkOrder(gateway), e, n),
    `configure ${ifname} in the container`,
  );
}

/** Delete a host link; false when there was none. */
export function deleteLink(name: string): boolean {
  try {
    call((e, n) => sym().containr_netlink_link_delete(cstr(name), e, n), `delete link ${name}`);
    return true;
  } catch (err) {
    if ((err as ContainrError).errno === 19 /* ENODEV */) return false;
    throw err;
  }
}

/** Does chain `chain` exist in nftables table `ip table`? (A netlink request: no `nft` process.) */
export function nftChainExists(table: string, chain: string): boolean {
  return call((e, n) => sym().containr_nft_chain_exists(cstr(table), cstr(chain), e, n), `look up nft chain ip ${table} ${chain}`) === 1;
}

/** At most this many rules per container are found (a container publishing a range has one per port). */
const MAX_TAGGED_RULES = 4096;

/** The handles of the rules of chain `ip table chain` whose comment is tag; [] when there is no such table or chain. */
export function nftTaggedRuleHandles(table: string, chain: string, tag: string): number[] {
  const handles = new BigUint64Array(MAX_TAGGED_RULES);
  const n = call(
    (e, len) => sym().containr_nft_tagged_rule_handles(cstr(table), cstr(chain), cstr(tag), handles, MAX_TAGGED_RULES, e, len),
    `list the rules of nft chain ip ${table} ${chain}`,
  );
  return Array.from(handles.subarray(0, n), Number);
}
