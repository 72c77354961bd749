/**
 * User-defined networks (ADR 0009), as `docker network create` makes them:
 *
 *   ROOT/networks/metadata.db   every network: id, name, subnet, gateway,
 *                               internal, labels (SQLite, sqlite-index.ts)
 *
 * Each network has its own Linux bridge, named from its id, and its own
 * subnet: the one --subnet gives, or the first /24 of 10.90.0.0/16 that
 * overlaps neither another network nor a route of the host. The choice and
 * the insert are one IMMEDIATE transaction, so two concurrent creates never
 * get the same subnet. What runs on a network (addresses, rules, the
 * bridge) is host-wide state under /run, kept by network.ts.
 */
import { readFileSync } from "node:fs";
import type { Statement } from "bun:sqlite";
import { ContainrError } from "../diag/errors.ts";
import { formatIPv4, parseIPv4, parseSubnet, subnetSize, type Subnet } from "../linux/network/ipv4.ts";
import { openStoreIn, SqliteIndex } from "../image/sqlite-index.ts";
import { generateId } from "./ids.ts";
import { BUILTIN_NETWORKS } from "./network-options.ts";

export interface UserNetwork {
  id: string;
  name: string;
  /** RFC 3339 */
  created: string;
  /** "10.90.0.0/24" */
  subnet: string;
  gateway: string;
  internal: boolean;
  labels: Record<string, string>;
}

export interface NewNetwork {
  name: string;
  subnet?: string;
  gateway?: string;
  internal: boolean;
  labels: Record<string, string>;
}

/** Where networks without --subnet get theirs: its /24s in order. */
export const AUTO_POOL = "10.90.0.0/16";
const AUTO_PREFIX = 24;
/** The default bridge's subnet (network.ts), which no user network may overlap. */
const DEFAULT_BRIDGE_SUBNET = "10.89.0.0/16";

/** Docker's network names: an alphanumeric first character, then [a-zA-Z0-9_.-]. */
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const SCHEMA_VERSION = 1;
const SCHEMA = ["CREATE TABLE networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, record TEXT NOT NULL) STRICT"];

interface Row {
  id: string;
  name: string;
  record: string;
}

/** The Linux bridge of a user network: "ctr-" and the id's first 11 characters (IFNAMSIZ is 16). */
export function bridgeName(network: UserNetwork): string {
  return `ctr-${network.id.slice(0, 11)}`;
}

/** The wildcard nftables matches every user network's bridge with. */
export const USER_BRIDGE_WILDCARD = "ctr-*";

function overlap(a: Subnet, b: Subnet): boolean {
  return a.base < b.base + subnetSize(b) && b.base < a.base + subnetSize(a);
}

/** The IPv4 routes of the host (/proc/net/route), as subnets; the default route is left out. */
function hostRoutes(): Subnet[] {
  let text: string;
  try {
    text = readFileSync("/proc/net/route", "utf8");
  } catch {
    return [];
  }
  const routes: Subnet[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[1] === undefined || f[7] === undefined) continue;
    // the network-order address as a host-order (little-endian) hex number: its bytes reversed
    const le = (hex: string) => parseIPv4((hex.match(/../g) ?? []).reverse().map((b) => Number.parseInt(b, 16)).join(".")) ?? 0;
    const mask = le(f[7]);
    if (mask === 0) continue;
    const prefix = 32 - Math.log2(2 ** 32 - mask);
    if (!Number.isInteger(prefix)) continue;
    routes.push({ base: le(f[1]), prefix });
  }
  return routes;
}

function usage(message: string, hint?: string): ContainrError {
  return new ContainrError("USAGE", message, { hint });
}

/** --subnet and --gateway checked as Docker does: a network address, a gateway inside it. */
function checkAddressing(subnetText: string, gatewayText: string | undefined): { subnet: string; gateway: string } {
  let subnet: Subnet;
  try {
    subnet = parseSubnet(subnetText);
  } catch {
    throw usage(`invalid subnet ${subnetText}: expected an IPv4 CIDR such as 10.90.5.0/24`, "containr has no IPv6 networks");
  }
  if (subnet.prefix > 30) throw usage(`invalid subnet ${subnetText}: too small for a gateway and a container (at most /30)`);
  if (subnet.base % subnetSize(subnet) !== 0) {
    const network = subnet.base - (subnet.base % subnetSize(subnet));
    throw usage(`invalid subnet ${subnetText}: it is not a network address (${formatIPv4(network)}/${subnet.prefix})`);
  }
  const last = subnet.base + subnetSize(subnet) - 1;
  if (gatewayText === undefined) return { subnet: subnetText, gateway: formatIPv4(subnet.base + 1) };
  const gateway = parseIPv4(gatewayText);
  if (gateway === undefined) throw usage(`invalid gateway ${gatewayText}: expected an IPv4 address`);
  if (gateway <= subnet.base || gateway >= last) {
    throw usage(`no matching subnet for gateway ${gatewayText}`, `the gateway must be a host address of ${subnetText}`);
  }
  return { subnet: subnetText, gateway: gatewayText };
}

export function networkNotFound(name: string): ContainrError {
  return new ContainrError("NETWORK_NOT_FOUND", `network ${name} not found`, {
    hint: "list networks with `containr network ls`",
  });
}

export class NetworkStore {
  private readonly index: SqliteIndex;
  private readonly all: Statement<Row, []>;
  private readonly insert: Statement<unknown, [string, string, string]>;
  private readonly remove: Statement<unknown, [string]>;

  private constructor(readonly dir: string) {
    this.index = new SqliteIndex(dir, "metadata.db", "network index", SCHEMA_VERSION, SCHEMA);
    const db = this.index.db;
    this.all = db.query("SELECT id, name, record FROM networks ORDER BY name");
    this.insert = db.query("INSERT INTO networks (id, name, record) VALUES (?, ?, ?)");
    this.remove = db.query("DELETE FROM networks WHERE id = ?");
  }

  /** Open (creating) the network store of a data root. */
  static open(dataRoot: string): NetworkStore {
    return openStoreIn(dataRoot, "networks", "network index", (dir) => new NetworkStore(dir));
  }

  close(): void {
    this.index.close();
  }

  list(): UserNetwork[] {
    return this.index.retryWhileBusy("list networks", () => this.all.all()).map((r) => JSON.parse(r.record) as UserNetwork);
  }

  /** A network by name, full id or unique id prefix, as Docker resolves them; undefined when none. */
  find(ref: string): UserNetwork | undefined {
    const networks = this.list();
    const exact = networks.find((n) => n.name === ref || n.id === ref);
    if (exact !== undefined) return exact;
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const matches = networks.filter((n) => n.id.startsWith(ref));
    if (matches.length > 1) {
      throw new ContainrError("NETWORK_CONFLICT", `network ${ref} is ambiguous (${matches.length} matches found based on ID prefix)`, {
        hint: "give more characters of the id, or the name",
      });
    }
    return matches[0];
  }

  /** find, or Docker's "network NAME not found". */
  get(ref: string): UserNetwork {
    const found = this.find(ref);
    if (found === undefined) throw networkNotFound(ref);
    return found;
  }

  create(request: NewNetwork): UserNetwork {
    if (!VALID_NAME.test(request.name)) {
      throw usage(`invalid network name "${request.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    if ((BUILTIN_NETWORKS as readonly string[]).includes(request.name)) {
      throw new ContainrError("NETWORK_CONFLICT", `network with name ${request.name} already exists`, { hint: "bridge, host and none are built in" });
    }
    if (request.gateway !== undefined && request.subnet === undefined) {
      throw usage("--gateway needs --subnet: a gateway is an address of the network's subnet");
    }
    const explicit = request.subnet === undefined ? undefined : checkAddressing(request.subnet, request.gateway);
    return this.index.retryWhileBusy("create network", () =>
      this.index.db
        .transaction(() => {
          const networks = this.list();
          if (networks.some((n) => n.name === request.name)) {
            throw new ContainrError("NETWORK_CONFLICT", `network with name ${request.name} already exists`, {
              hint: "pick another name, or remove it first (`containr network rm`)",
            });
          }
          const taken = [DEFAULT_BRIDGE_SUBNET, ...networks.map((n) => n.subnet)].map(parseSubnet);
          let addressing: { subnet: string; gateway: string };
          if (explicit !== undefined) {
            if (taken.some((t) => overlap(t, parseSubnet(explicit.subnet)))) {
              throw new ContainrError("NETWORK_CONFLICT", "invalid pool request: Pool overlaps with other one on this address space", {
                hint: "pick a --subnet that no other network uses (`containr network inspect` shows them)",
              });
            }
            addressing = explicit;
          } else {
            addressing = this.freeSubnet([...taken, ...hostRoutes()]);
          }
          const network: UserNetwork = {
            id: generateId(),
            name: request.name,
            created: new Date().toISOString(),
            ...addressing,
            internal: request.internal,
            labels: request.labels,
          };
          this.insert.run(network.id, network.name, JSON.stringify(network));
          return network;
        })
        .immediate(),
    );
  }

  private freeSubnet(taken: Subnet[]): { subnet: string; gateway: string } {
    const pool = parseSubnet(AUTO_POOL);
    const step = 2 ** (32 - AUTO_PREFIX);
    for (let base = pool.base; base < pool.base + subnetSize(pool); base += step) {
      const candidate = { base, prefix: AUTO_PREFIX };
      if (!taken.some((t) => overlap(t, candidate))) {
        return { subnet: `${formatIPv4(base)}/${AUTO_PREFIX}`, gateway: formatIPv4(base + 1) };
      }
    }
    throw new ContainrError("NETWORK_CONFLICT", `could not find an available, non-overlapping IPv4 address pool among ${AUTO_POOL}`, {
      hint: "remove unused networks (`containr network prune`), or give --subnet",
    });
  }

  /** Remove the network's row (the caller checked it is unused and removed its bridge and rules). */
  delete(network: UserNetwork): void {
    this.index.retryWhileBusy("remove network", () => this.remove.run(network.id));
  }
}
