/**
 * The bridge's allocations: which container holds which address and which
 * host ports, in one JSON file (attachments.json) next to a lock file, in
 * the bridge's state directory. Every change happens under an exclusive
 * flock of the lock file, so concurrent `run`s never get the same address
 * or host port; readers (inspect, ps, port) read the file without the lock
 * (it is replaced whole, by rename).
 *
 * The bridge is one per host, shared by every data root, so its
 * allocations are too: the directory is under /run (ADR 0008), where a
 * reboot, which takes every address and rule away, also empties it.
 */
import { closeSync, constants, mkdirSync, openSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ContainrError } from "../diag/errors.ts";
import { portBoundOnHost, ephemeralPortRange, type Protocol } from "../linux/network/host-ports.ts";
import { formatIPv4, inSubnet, macForIPv4, parseIPv4, subnetSize, type Subnet } from "../linux/network/ipv4.ts";
import { flock, LOCK_EX } from "../native/runtime.ts";
import { replaceFile } from "../native/replace-file.ts";
import type { PortBinding, PublishedPort } from "./network-ports.ts";

/** One container on a network (the default bridge or a user-defined one). */
export interface Attachment {
  container: string;
  /** what a peer's /etc/hosts names it by (user networks): name, --network-alias values, short id */
  names?: string[];
  /** its hostname, on its own address in its /etc/hosts (user networks) */
  hostname?: string;
  /** the container's data directory: the allocation is stale once it is gone */
  containerDir: string;
  address: string;
  mac: string;
  /** the host end of its veth pair */
  hostInterface: string;
  ports: PublishedPort[];
}

interface StateFile {
  attachments: Attachment[];
}

export interface Pool {
  subnet: Subnet;
  /** addresses never handed out (network, gateway, broadcast) */
  reserved: number[];
}

/** Docker's error for a host port that is taken. */
function portAllocated(hostIp: string, hostPort: string): ContainrError {
  return new ContainrError("PORT_ALLOCATED", `Bind for ${hostIp}:${hostPort} failed: port is already allocated`, {
    hint: "another container or a host process uses it: pick another host port, or -p CONTAINERPORT for a free one",
  });
}

const stateFile = (dir: string) => join(dir, "attachments.json");

function readState(dir: string): StateFile {
  try {
    return JSON.parse(readFileSync(stateFile(dir), "utf8")) as StateFile;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EACCES: a caller without root, who cannot have put a container on the bridge
    if (code === "ENOENT" || code === "EACCES") return { attachments: [] };
    throw err;
  }
}

/** Run fn under the network's allocation lock. */
export function withAllocationLock<T>(dir: string, fn: () => T): T {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = openSync(join(dir, "lock"), constants.O_RDWR | constants.O_CREAT, 0o600);
  try {
    flock(fd, LOCK_EX, `lock ${dir}`);
    return fn();
  } finally {
    closeSync(fd);
  }
}

/** The attachments of a network, read without the lock (the file is replaced whole). */
export function listAttachments(dir: string): Attachment[] {
  return readState(dir).attachments;
}

/**
 * Run fn on the state under the lock; what it returns is written back when
 * `changed` says so, and then onChange sees the new attachments, still under the lock.
 */
function update<T>(dir: string, fn: (state: StateFile) => { result: T; changed: boolean }, onChange?: (attachments: Attachment[]) => void): T {
  return withAllocationLock(dir, () => {
    const state = readState(dir);
    const { result, changed } = fn(state);
    // /run is a tmpfs: a reboot empties it anyway, so no fsync
    if (changed) {
      replaceFile(stateFile(dir), JSON.stringify(state), 0o600, { durable: false });
      onChange?.(state.attachments);
    }
    return result;
  });
}

/** The last state a look-up read of each network, with the identity of the file it came from. */
const lastRead = new Map<string, { ino: number; mtimeMs: number; state: StateFile }>();

/**
 * The attachment of a container, if it has one (no lock: the file is
 * replaced whole, by rename, so a new inode means new content). `ps` asks
 * once per running container: the file is parsed once per change.
 */
export function findAttachment(dir: string, container: string): Attachment | undefined {
  const file = stateFile(dir);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file, { throwIfNoEntry: false });
  } catch {
    // EACCES: a caller without root, who cannot have put a container on the bridge
    return undefined;
  }
  if (st === undefined) return undefined;
  let cached = lastRead.get(file);
  if (cached?.ino !== Number(st.ino) || cached.mtimeMs !== Number(st.mtimeMs)) {
    cached = { ino: Number(st.ino), mtimeMs: Number(st.mtimeMs), state: readState(dir) };
    lastRead.set(file, cached);
  }
  return cached.state.attachments.find((a) => a.container === container);
}

/** Do two bindings of the same protocol and port overlap (0.0.0.0 overlaps every address)? */
function overlaps(a: { hostIp: string }, b: { hostIp: string }): boolean {
  return a.hostIp === "0.0.0.0" || b.hostIp === "0.0.0.0" || a.hostIp === b.hostIp;
}

function portTaken(taken: readonly PublishedPort[], proto: Protocol, hostIp: string, port: number): boolean {
  return taken.some((t) => t.proto === proto && t.hostPort === port && overlaps(t, { hostIp }));
}

/** Choose the host ports of the bindings; throws Docker's "port is already allocated" for a taken one. */
function choosePorts(bindings: readonly PortBinding[], others: readonly PublishedPort[]): PublishedPort[] {
  const chosen: PublishedPort[] = [];
  const free = (proto: Protocol, hostIp: string, port: number) =>
    !portTaken(others, proto, hostIp, port) && !portTaken(chosen, proto, hostIp, port) && !portBoundOnHost(proto, hostIp, port);
  const [low, high] = ephemeralPortRange();
  for (const b of bindings) {
    const hostIp = b.hostIp === "" ? "0.0.0.0" : b.hostIp;
    let range: [number, number];
    if (b.hostPort === "") range = [low, high];
    else {
      const [from, to] = b.hostPort.split("-").map(Number) as [number, number?];
      range = [from, to ?? from];
    }
    const size = range[1] - range[0] + 1;
    // a random start, so that ports just released are not handed out again at once
    const start = b.hostPort === "" ? Math.floor(Math.random() * size) : 0;
    let port: number | undefined;
    for (let i = 0; i < size; i++) {
      const candidate = range[0] + ((start + i) % size);
      if (free(b.proto, hostIp, candidate)) {
        port = candidate;
        break;
      }
    }
    if (port === undefined) throw portAllocated(hostIp, b.hostPort === "" ? "0" : b.hostPort);
    chosen.push({ containerPort: b.containerPort, proto: b.proto, hostIp, hostPort: port });
  }
  return chosen;
}

export interface AllocationRequest {
  container: string;
  containerDir: string;
  hostInterface: string;
  names?: string[];
  hostname?: string;
  bindings: readonly PortBinding[];
  /** is this attachment left by a container that no longer exists? */
  isStale: (a: Attachment) => boolean;
  /** remove what a dropped attachment left on the host (its rules), under the lock */
  discard: (a: Attachment) => void;
  /** told the network's attachments after the change, under the lock (peers' /etc/hosts) */
  onChange?: (attachments: Attachment[]) => void;
}

/**
 * Give the container the lowest free address of the pool and its host
 * ports. What it held before (a run whose clean-up never happened) is
 * dropped first, and so are the attachments of containers that no longer exist.
 */
export function allocate(dir: string, pool: Pool, request: AllocationRequest): Attachment {
  return update(dir, (state) => {
    const dropped = state.attachments.filter((a) => a.container === request.container || request.isStale(a));
    for (const a of dropped) request.discard(a);
    state.attachments = state.attachments.filter((a) => !dropped.includes(a));
    const used = new Set(state.attachments.map((a) => parseIPv4(a.address)));
    for (const r of pool.reserved) used.add(r);
    let address: number | undefined;
    for (let n = pool.subnet.base; n < pool.subnet.base + subnetSize(pool.subnet); n++) {
      if (!used.has(n)) {
        address = n;
        break;
      }
    }
    if (address === undefined || !inSubnet(pool.subnet, address)) {
      throw new ContainrError("NETWORK_FAILED", `no free address left in ${formatIPv4(pool.subnet.base)}/${pool.subnet.prefix}`, {
        hint: "remove stopped containers (`containr container prune`)",
      });
    }
    const ports = choosePorts(
      request.bindings,
      state.attachments.flatMap((a) => a.ports),
    );
    const attachment: Attachment = {
      container: request.container,
      containerDir: request.containerDir,
      address: formatIPv4(address),
      mac: macForIPv4(address),
      hostInterface: request.hostInterface,
      ports,
    };
    if (request.names !== undefined) attachment.names = request.names;
    if (request.hostname !== undefined) attachment.hostname = request.hostname;
    state.attachments.push(attachment);
    return { result: attachment, changed: true };
  }, request.onChange);
}

/**
 * Drop the container's attachment after discard removed what it left on
 * the host, under the lock (two releases of one container do not race);
 * returns it (undefined when it had none).
 */
export function release(
  dir: string,
  container: string,
  discard: (a: Attachment) => void,
  onChange?: (attachments: Attachment[]) => void,
): Attachment | undefined {
  return update(dir, (state) => {
    const found = state.attachments.find((a) => a.container === container);
    if (found === undefined) return { result: undefined, changed: false };
    discard(found);
    state.attachments = state.attachments.filter((a) => a !== found);
    return { result: found, changed: true };
  }, onChange);
}
