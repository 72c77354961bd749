/**
 * The operator's commands on containers: stats (from the container's
 * cgroup, any layout, through the runtime's cgroup manager), top (the
 * host's ps filtered to the cgroup's pids, as dockerd does), pause and
 * unpause (the freezer), diff (the overlay's upper directory), and the
 * prunes and disk usage of `container prune`, `system df` and `system prune`.
 */
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ContainrError } from "../diag/errors.ts";
import type { CgroupStats } from "../linux/cgroups/index.ts";
import { resolveImage } from "../image/store.ts";
import { managerOf } from "../runtime/container.ts";
import { containerPids, pauseContainer as runtimePause, resumeContainer as runtimeResume } from "../runtime/manage.ts";
import { readState } from "../runtime/state.ts";
import { observe } from "./container-state.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import type { ContainerRecord } from "./records.ts";
import { destroyContainer } from "./teardown.ts";
import { directorySize } from "./volumes.ts";

function notRunning(record: ContainerRecord): ContainrError {
  return new ContainrError("INVALID_STATE", `Container ${record.id} is not running`, { hint: `start it with \`containr start ${record.name}\`` });
}

function requireRunning(ctx: EngineContext, record: ContainerRecord): { pid: number; paused: boolean } {
  const { state } = observe(ctx, record);
  if (!state.Running || state.Restarting) throw notRunning(record);
  return { pid: state.Pid, paused: state.Paused };
}

// --- stats -------------------------------------------------------------------------------------------------

/** One reading of a container's counters. */
export interface StatsSample {
  /** cgroup CPU time, ns */
  cpuNanos: number;
  /** the host's CPU time (all CPUs, /proc/stat), ns */
  systemNanos: number;
  onlineCpus: number;
  /** Docker's MEM USAGE: the cgroup's usage less its reclaimable page cache (memoryUsageWithoutCache) */
  memoryUsage: number;
  /** the cgroup's usage as the kernel counts it, page cache included */
  memoryRawUsage: number;
  memoryLimit: number;
  /** undefined: no network namespace of its own to read */
  network?: { rx: number; tx: number };
  blockRead: number;
  blockWrite: number;
  pids: number;
}

/** USER_HZ: /proc/stat counts in 1/100 s. */
const CLOCK_TICKS = 100;

function hostCpuNanos(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const ticks = line.trim().split(/\s+/).slice(1, 8).reduce((sum, n) => sum + Number(n), 0);
  return (ticks * 1e9) / CLOCK_TICKS;
}

function hostMemory(): number {
  const m = /^MemTotal:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Bytes received and sent on the container's interfaces but loopback (/proc/PID/net/dev reads its network namespace). */
function networkCounters(pid: number): { rx: number; tx: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/net/dev`, "utf8");
  } catch {
    return undefined;
  }
  let rx = 0;
  let tx = 0;
  for (const line of text.split("\n").slice(2)) {
    const [name, rest] = line.split(":");
    if (rest === undefined || name?.trim() === "lo") continue;
    const fields = rest.trim().split(/\s+/).map(Number);
    rx += fields[0] ?? 0;
    tx += fields[8] ?? 0;
  }
  return { rx, tx };
}

/**
 * docker/cli's calculateMemUsageUnixNoCache: a file the container read stays
 * in its cgroup's page cache, charged to it, until the kernel needs the
 * memory; Docker leaves out the inactive part of that cache (v1
 * total_inactive_file, v2 inactive_file), as cadvisor and the CRI do.
 */
export function memoryUsageWithoutCache(memory: NonNullable<CgroupStats["memory"]>): number {
  const { usage, inactiveFile } = memory;
  return inactiveFile !== undefined && inactiveFile < usage ? usage - inactiveFile : usage;
}

/** Read the container's counters now. */
export function sampleStats(ctx: EngineContext, record: ContainerRecord): StatsSample {
  const { pid } = requireRunning(ctx, record);
  const stats = managerOf(ctx.runtime, readState(ctx.runtime.root, record.id)).stats();
  const total = hostMemory();
  const limit = stats.memory?.limit;
  const hostNetwork = (record.hostConfig as { NetworkMode?: string }).NetworkMode === "host";
  return {
    cpuNanos: stats.cpu?.usageNanos ?? 0,
    systemNanos: hostCpuNanos(),
    onlineCpus: readdirSync("/sys/devices/system/cpu").filter((n) => /^cpu\d+$/.test(n)).length || 1,
    memoryUsage: stats.memory === undefined ? 0 : memoryUsageWithoutCache(stats.memory),
    memoryRawUsage: stats.memory?.usage ?? 0,
    // no limit (or v1's "unlimited" 2^63): the host's memory, as Docker shows it
    memoryLimit: limit !== undefined && limit > 0 && limit < total ? limit : total,
    network: hostNetwork ? undefined : networkCounters(pid),
    blockRead: stats.blockIO?.readBytes ?? 0,
    blockWrite: stats.blockIO?.writeBytes ?? 0,
    pids: stats.pids?.current ?? 0,
  };
}

/** docker/cli's calculateCPUPercentUnix: the container's share of the host's CPU time between two samples, × CPUs. */
export function cpuPercent(previous: StatsSample | undefined, current: StatsSample): number {
  if (previous === undefined) return 0;
  const cpuDelta = current.cpuNanos - previous.cpuNanos;
  const systemDelta = current.systemNanos - previous.systemNanos;
  if (cpuDelta <= 0 || systemDelta <= 0) return 0;
  return (cpuDelta / systemDelta) * current.onlineCpus * 100;
}

// --- top -----------------------------------------------------------------------------------------------------

export interface ProcessTable {
  Titles: string[];
  Processes: string[][];
}

/**
 * dockerd's parsePSOutput: ps's header gives the columns, the PID column
 * picks the container's rows, and the last column (the command) keeps its
 * spaces.
 */
export function parsePsOutput(output: string, pids: ReadonlySet<number>): ProcessTable {
  const lines = output.split("\n").filter((l) => l.trim() !== "");
  const titles = (lines[0] ?? "").trim().split(/\s+/);
  const pidIndex = titles.indexOf("PID");
  if (pidIndex < 0) throw new ContainrError("USAGE", "Couldn't find PID field in ps output", { hint: "give ps options whose output has a PID column (the default is -ef)" });
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (!pids.has(Number(fields[pidIndex]))) continue;
    const row = fields.slice(0, titles.length - 1);
    row.push(fields.slice(titles.length - 1).join(" "));
    processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

/** `top CONTAINER [ps OPTIONS]`: the host's ps (procps), filtered to the container's cgroup. */
export function topContainer(ctx: EngineContext, record: ContainerRecord, psArgs: string[]): ProcessTable {
  requireRunning(ctx, record);
  const pids = new Set(containerPids(ctx.runtime, record.id));
  const args = psArgs.length > 0 ? psArgs : ["-ef"];
  const ps = Bun.spawnSync(["ps", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C" } });
  if (ps.exitCode !== 0) {
    throw new ContainrError("USAGE", `ps: ${ps.stderr.toString().trim() || `exit status ${ps.exitCode}`}`, { hint: "ps options as the host's procps ps takes them (the default is -ef)" });
  }
  return parsePsOutput(ps.stdout.toString(), pids);
}

// --- pause ---------------------------------------------------------------------------------------------------

export function pauseContainer(ctx: EngineContext, record: ContainerRecord): void {
  const { paused } = requireRunning(ctx, record);
  if (paused) throw new ContainrError("INVALID_STATE", `Container ${record.id} is already paused`);
  runtimePause(ctx.runtime, record.id);
}

export function unpauseContainer(ctx: EngineContext, record: ContainerRecord): void {
  const { paused } = requireRunning(ctx, record);
  if (!paused) throw new ContainrError("INVALID_STATE", `Container ${record.id} is not paused`);
  runtimeResume(ctx.runtime, record.id);
}

// --- diff ----------------------------------------------------------------------------------------------------

export interface Change {
  /** Docker's kinds: C changed, A added, D deleted */
  Kind: "C" | "A" | "D";
  Path: string;
}

/** Does `path` (components relative to the root) exist in one of the image's layers, walking no symlink? */
function inLayers(layers: readonly string[], components: readonly string[]): boolean {
  return layers.some((layer) => {
    let dir = layer;
    for (let i = 0; i < components.length; i++) {
      const st = lstatSync(join(dir, components[i] as string), { throwIfNoEntry: false });
      if (st === undefined) return false;
      if (i < components.length - 1 && !st.isDirectory()) return false;
      dir = join(dir, components[i] as string);
    }
    return true;
  });
}

/** The files the engine bind-mounts into every container (etc-files.ts). */
const ENGINE_MOUNT_POINTS = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];

/**
 * `diff`: what the container changed, from its upper directory: an
 * overlay whiteout (a 0/0 character device) is D, an entry the image has
 * is C, anything else A. The mount points the runtime made for the
 * container's own mounts (/etc/hosts, volumes) are left out (Docker keeps
 * them in an init layer), and a directory of the image counts as changed
 * only when something below it is. Sorted by path, as Docker lists them.
 */
export function diffContainer(ctx: EngineContext, record: ContainerRecord): Change[] {
  const layers = [...resolveImage(ctx.images.open(), record.imageId).layerDirs];
  const mountPoints = new Set([...ENGINE_MOUNT_POINTS, ...(record.mounts as { Destination?: string }[]).map((m) => m.Destination ?? "")]);
  const walk = (dir: string, components: string[]): Change[] => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    const out: Change[] = [];
    for (const name of names) {
      const child = [...components, name];
      const st = lstatSync(join(dir, name));
      const path = `/${child.join("/")}`;
      if (st.isCharacterDevice() && st.rdev === 0) {
        out.push({ Kind: "D", Path: path });
        continue;
      }
      const below = st.isDirectory() ? walk(join(dir, name), child) : [];
      const kind = inLayers(layers, child) ? "C" : "A";
      const ownChange = !mountPoints.has(path) && !(kind === "C" && st.isDirectory());
      if (ownChange || below.length > 0) out.push({ Kind: kind, Path: path });
      out.push(...below);
    }
    return out;
  };
  return walk(containerPaths(ctx, record.id).diff, []).sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}

// --- prune and disk usage ------------------------------------------------------------------------------------

/** Bytes of the container's writable layer. */
export function containerSize(ctx: EngineContext, record: ContainerRecord): number {
  return directorySize(containerPaths(ctx, record.id).diff);
}

export interface ContainerPruneResult {
  deleted: string[];
  reclaimed: number;
}

/** `container prune`: every container that is not running (created, exited, dead). */
export function pruneContainers(ctx: EngineContext, filter: (record: ContainerRecord) => boolean = () => true): ContainerPruneResult {
  const result: ContainerPruneResult = { deleted: [], reclaimed: 0 };
  for (const record of ctx.records.list()) {
    const { state } = observe(ctx, record);
    if (state.Running || !filter(record)) continue;
    const size = containerSize(ctx, record);
    try {
      destroyContainer(ctx, record);
    } catch (err) {
      // removed (or started) by someone else meanwhile
      if ((err as ContainrError).code === "CONTAINER_NOT_FOUND") continue;
      throw err;
    }
    result.deleted.push(record.id);
    result.reclaimed += size;
  }
  return result;
}

export interface DiskUsageRow {
  type: "Images" | "Containers" | "Local Volumes" | "Build Cache";
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

/** `system df`: images (active: used by a container), containers' writable layers (active: running), volumes (active: mounted by a container). */
export function diskUsage(ctx: EngineContext, volumeSizes: { name: string; size: number; inUse: boolean }[]): DiskUsageRow[] {
  const store = ctx.images.open();
  const images = { type: "Images", total: 0, active: 0, size: 0, reclaimable: 0 } as DiskUsageRow;
  for (const image of store.listImages()) {
    images.total++;
    images.size += image.size;
    if (store.imageUsers(image.id).length > 0) images.active++;
    else images.reclaimable += image.size;
  }
  const containers = { type: "Containers", total: 0, active: 0, size: 0, reclaimable: 0 } as DiskUsageRow;
  for (const record of ctx.records.list()) {
    const size = containerSize(ctx, record);
    containers.total++;
    containers.size += size;
    if (observe(ctx, record).state.Running) containers.active++;
    else containers.reclaimable += size;
  }
  const volumes = { type: "Local Volumes", total: 0, active: 0, size: 0, reclaimable: 0 } as DiskUsageRow;
  for (const v of volumeSizes) {
    volumes.total++;
    volumes.size += v.size;
    if (v.inUse) volumes.active++;
    else volumes.reclaimable += v.size;
  }
  return [images, containers, volumes, { type: "Build Cache", total: 0, active: 0, size: 0, reclaimable: 0 }];
}

export interface ImagePruneResult {
  lines: string[];
  reclaimed: number;
}

/** The image part of `system prune`: dangling images (no tag), or with `all` every image no container uses. */
export function pruneImages(ctx: EngineContext, all: boolean): ImagePruneResult {
  const store = ctx.images.open();
  const result: ImagePruneResult = { lines: [], reclaimed: 0 };
  for (const image of store.listImages()) {
    if (store.imageUsers(image.id).length > 0) continue;
    if (!all && image.tags.length > 0) continue;
    try {
      const lines = store.removeImage(image.id, true);
      result.lines.push(...lines.map((l) => l.replace(/^Untagged: /, "untagged: ").replace(/^Deleted: /, "deleted: ")));
      result.reclaimed += image.size;
    } catch (err) {
      // taken by a container created meanwhile: not prunable any more
      if ((err as ContainrError).code === "INVALID_STATE" || (err as ContainrError).code === "IMAGE_NOT_FOUND") continue;
      throw err;
    }
  }
  return result;
}
