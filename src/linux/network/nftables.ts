/**
 * containr's NAT rules, in an nftables table of its own (`table ip
 * containr`), written through the `nft` binary, one transaction (`nft -f -`)
 * per container start:
 *
 *   postrouting (nat, srcnat)  masquerade the subnet's traffic to anything
 *                              not on the bridge; masquerade what a DNAT
 *                              sends to the bridge from 127.0.0.0/8 (the
 *                              host's own connections to 127.0.0.1:PORT) or
 *                              from the subnet itself (a container reaching
 *                              another through a published port)
 *   prerouting (nat, dstnat)   traffic to a local address jumps to `ports`
 *   output (nat, dstnat)       the same for connections from the host itself
 *   ports                      one DNAT rule per published port, commented
 *                              with the container's id
 *
 * The base chains are declared, flushed and refilled in the same
 * transaction as the container's rules, so the transaction is idempotent
 * and concurrent first runs cannot duplicate them; `ports` is never
 * flushed. The transaction also adds an empty marker chain named after the
 * base rules' version (BASE_MARKER): a start without published ports whose
 * marker exists (one netlink look-up) runs no `nft` at all, and a new
 * version of the rules replaces old ones at the next start. A container's
 * rules are removed by handle, found by their comment (a netlink dump).
 */
import { ContainrError } from "../../diag/errors.ts";
import { nftChainExists, nftTaggedRuleHandles } from "../../native/netlink.ts";
import type { Protocol } from "./host-ports.ts";

export interface NatNetwork {
  /** nftables table name (family ip) */
  table: string;
  /** the bridge's interface name */
  bridge: string;
  /** "10.89.0.0/16" */
  subnet: string;
}

export interface DnatRule {
  /** "0.0.0.0" for every local address */
  hostIp: string;
  hostPort: number;
  proto: Protocol;
  containerIp: string;
  containerPort: number;
}

const PORTS_CHAIN = "ports";
/** Bump when baseRules changes: tables holding the old rules get the new ones at the next start. */
export const BASE_MARKER = "base-rules-v1";

/** Are this version's base rules in the table (a netlink look-up of the marker chain)? */
export function baseRulesInstalled(net: NatNetwork): boolean {
  return nftChainExists(net.table, BASE_MARKER);
}

/** The statements that (re)create the table's base chains and rules, idempotently. */
export function baseRules(net: NatNetwork): string[] {
  const t = `ip ${net.table}`;
  return [
    `add table ${t}`,
    `add chain ${t} ${PORTS_CHAIN}`,
    `add chain ${t} ${BASE_MARKER}`,
    `add chain ${t} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `flush chain ${t} postrouting`,
    `add rule ${t} postrouting ip saddr ${net.subnet} ip daddr != ${net.subnet} masquerade`,
    `add rule ${t} postrouting oifname "${net.bridge}" ip saddr 127.0.0.0/8 masquerade`,
    `add rule ${t} postrouting oifname "${net.bridge}" ip saddr ${net.subnet} ct status dnat masquerade`,
    `add chain ${t} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `flush chain ${t} prerouting`,
    `add rule ${t} prerouting fib daddr type local jump ${PORTS_CHAIN}`,
    `add chain ${t} output { type nat hook output priority -100; policy accept; }`,
    `flush chain ${t} output`,
    `add rule ${t} output fib daddr type local jump ${PORTS_CHAIN}`,
  ];
}

/** The DNAT statements of one container's published ports, each commented with tag (its id). */
export function dnatRules(net: NatNetwork, tag: string, rules: readonly DnatRule[]): string[] {
  return rules.map((r) => {
    const daddr = r.hostIp === "0.0.0.0" ? "" : `ip daddr ${r.hostIp} `;
    return `add rule ip ${net.table} ${PORTS_CHAIN} ${daddr}${r.proto} dport ${r.hostPort} dnat to ${r.containerIp}:${r.containerPort} comment "${tag}"`;
  });
}

/** Run nft with a script on stdin: one atomic transaction. */
export function runNft(statements: readonly string[], what: string): void {
  let result: ReturnType<typeof Bun.spawnSync>;
  try {
    result = Bun.spawnSync(["nft", "-f", "-"], { stdin: Buffer.from(`${statements.join("\n")}\n`), stdout: "pipe", stderr: "pipe" });
  } catch (err) {
    throw new ContainrError("NETWORK_FAILED", `${what}: cannot run nft: ${(err as Error).message}`, {
      hint: "install nftables (Debian: apt-get install nftables)",
      cause: err,
    });
  }
  if (result.exitCode !== 0) {
    const stderr = result.stderr?.toString().trim() ?? "";
    throw new ContainrError("NETWORK_FAILED", `${what}: nft failed: ${stderr || `exit status ${result.exitCode}`}`);
  }
}

/** Remove every rule of the chains (default: the ports chain) commented with tag, in one transaction; a no-op when there is none. */
export function deleteTaggedRules(net: Pick<NatNetwork, "table">, tag: string, chains: readonly string[] = [PORTS_CHAIN]): void {
  // found over netlink (no nft process), deleted through nft
  const statements = chains.flatMap((chain) =>
    (nftChainExists(net.table, chain) ? nftTaggedRuleHandles(net.table, chain, tag) : []).map((h) => `delete rule ip ${net.table} ${chain} handle ${h}`),
  );
  if (statements.length === 0) return;
  runNft(statements, `remove the rules of ${tag}`);
}

/** The chains of user-defined networks' rules (ADR 0009), never flushed: each network's rules carry its tag. */
export const USER_NAT_CHAIN = "user-postrouting";
export const ISOLATION_CHAIN = "isolation";

export interface UserNetworkRules {
  table: string;
  /** the network's bridge */
  bridge: string;
  subnet: string;
  internal: boolean;
  /** the default bridge's interface: no traffic between it and a user network */
  defaultBridge: string;
  /** matches every user network's bridge ("ctr-*") */
  userBridges: string;
  /** the comment on the network's rules */
  tag: string;
}

/**
 * A user network's rules: outgoing masquerade (not for an internal one),
 * the masquerades -p needs (as the default bridge's base rules), and the
 * isolation in a forward filter chain: nothing between this bridge and the
 * default one or another user network's; an internal network's bridge
 * forwards nothing in or out at all.
 */
export function userNetworkRules(r: UserNetworkRules): string[] {
  const t = `ip ${r.table}`;
  const c = `comment "${r.tag}"`;
  const b = `"${r.bridge}"`;
  return [
    `add table ${t}`,
    `add chain ${t} ${USER_NAT_CHAIN} { type nat hook postrouting priority srcnat; policy accept; }`,
    `add chain ${t} ${ISOLATION_CHAIN} { type filter hook forward priority filter; policy accept; }`,
    ...(r.internal ? [] : [`add rule ${t} ${USER_NAT_CHAIN} ip saddr ${r.subnet} ip daddr != ${r.subnet} masquerade ${c}`]),
    `add rule ${t} ${USER_NAT_CHAIN} oifname ${b} ip saddr 127.0.0.0/8 masquerade ${c}`,
    `add rule ${t} ${USER_NAT_CHAIN} oifname ${b} ip saddr ${r.subnet} ct status dnat masquerade ${c}`,
    `add rule ${t} ${ISOLATION_CHAIN} iifname ${b} oifname "${r.defaultBridge}" drop ${c}`,
    `add rule ${t} ${ISOLATION_CHAIN} iifname "${r.defaultBridge}" oifname ${b} drop ${c}`,
    `add rule ${t} ${ISOLATION_CHAIN} iifname ${b} oifname "${r.userBridges}" oifname != ${b} drop ${c}`,
    ...(r.internal
      ? [`add rule ${t} ${ISOLATION_CHAIN} iifname ${b} oifname != ${b} drop ${c}`, `add rule ${t} ${ISOLATION_CHAIN} oifname ${b} iifname != ${b} drop ${c}`]
      : []),
  ];
}

/** Are the network's rules in place (a netlink look-up)? */
export function userNetworkRulesInstalled(table: string, tag: string): boolean {
  return nftChainExists(table, ISOLATION_CHAIN) && nftTaggedRuleHandles(table, ISOLATION_CHAIN, tag).length > 0;
}
