/**
 * cgroup v1: one directory per hierarchy (a joint mount such as cpu,cpuacct
 * is one directory), limits written to each controller's own files.
 * Modelled on runc's libcontainer/cgroups/fs and crun's cgroup-resources.c.
 */
import { dirname } from "node:path";
import { ContainrError } from "../../diag/errors.ts";
import type { CpuResources, DeviceCgroupRule, MemoryResources, Resources } from "../../oci/spec.ts";
import type { CgroupStats } from "./types.ts";
import { CgroupDir, flatKeyed } from "./fs.ts";
import {
  blockIOOf,
  byteLimit,
  deviceRuleLine,
  hugepageSize,
  integer,
  invalid,
  networkOf,
  pidsMax,
  rdmaLines,
  rdmaOf,
  type Section,
  type ThrottleDevice,
} from "./resources.ts";

/**
 * A new cpuset cgroup starts with empty cpuset.cpus and cpuset.mems, and the
 * kernel refuses tasks until both are set: copy them from the parent.
 */
export function inheritCpuset(path: string): void {
  const dir = new CgroupDir(path);
  const parent = new CgroupDir(dirname(path));
  for (const file of ["cpuset.cpus", "cpuset.mems"]) {
    if (dir.read(file).trim() === "") dir.write(file, parent.read(file).trim());
  }
}

/** Directories of the container's cgroup by v1 controller name. */
export type V1Dirs = (controller: string) => CgroupDir;

/** Write one section of the request to its v1 controller. */
export function applyV1(section: Section, dirOf: V1Dirs, r: Resources, updating: boolean): void {
  switch (section) {
    case "memory":
      return writeMemory(dirOf("memory"), r.memory ?? {}, updating);
    case "cpu":
      return writeCpu(dirOf("cpu"), r.cpu ?? {});
    case "cpuset":
      return writeCpuset(dirOf("cpuset"), r.cpu ?? {});
    case "pids":
      return dirOf("pids").write("pids.max", pidsMax(r.pids?.limit ?? -1));
    case "devices":
      return deviceCgroupWrites(r.devices ?? []).forEach(({ file, line }) => dirOf("devices").write(file, line));
    case "blockIO":
      return writeBlkio(dirOf("blkio"), r);
    case "hugetlb":
      return (r.hugepageLimits ?? []).forEach((h, i) =>
        dirOf("hugetlb").write(`hugetlb.${hugepageSize(h.pageSize, i)}.limit_in_bytes`, byteLimit(`linux.resources.hugepageLimits[${i}].limit`, h.limit, "v1")),
      );
    case "netClass":
      return dirOf("net_cls").write("net_cls.classid", integer("linux.resources.network.classID", networkOf(r)?.classID ?? 0));
    case "netPriority":
      return (networkOf(r)?.priorities ?? []).forEach((p, i) =>
        dirOf("net_prio").write("net_prio.ifpriomap", `${p.name} ${integer(`linux.resources.network.priorities[${i}].priority`, p.priority)}`),
      );
    case "rdma":
      return rdmaLines(rdmaOf(r) ?? {}).forEach((line) => dirOf("rdma").write("rdma.max", line));
  }
}

const MEMSW = "memory.memsw.limit_in_bytes";
const MEMORY_LIMIT = "memory.limit_in_bytes";

function writeMemory(dir: CgroupDir, m: MemoryResources, updating: boolean): void {
  const field = "linux.resources.memory";
  const limit = m.limit === undefined ? undefined : byteLimit(`${field}.limit`, m.limit, "v1");
  // An unlimited memory with no swap given means unlimited swap too (runc).
  let swapValue = m.swap ?? (m.limit === -1 ? -1 : undefined);
  if (swapValue !== undefined && !dir.has(MEMSW)) {
    // Without swap accounting there is no memsw file. A swap equal to the
    // memory limit (no swap) or unlimited asks for nothing we could enforce.
    if (swapValue === -1 || swapValue === m.limit) swapValue = undefined;
    else if (m.swap !== undefined) {
      throw new ContainrError("CGROUP_UNAVAILABLE", `${field}.swap: ${MEMSW} does not exist in ${dir.path}: the kernel has no swap accounting`, {
        hint: "boot the host with swapaccount=1, or remove the swap limit (or set it equal to the memory limit)",
      });
    } else swapValue = undefined;
  }
  const swap = swapValue === undefined ? undefined : byteLimit(`${field}.swap`, swapValue, "v1");
  if (m.limit !== undefined && m.limit > 0 && swapValue !== undefined && swapValue !== -1 && swapValue < m.limit) {
    throw invalid(`${field}.swap`, `memory+swap (${swapValue}) is less than the memory limit (${m.limit})`);
  }
  if (updating && m.checkBeforeUpdate && m.limit !== undefined && m.limit > 0) {
    const usage = Number(dir.read("memory.usage_in_bytes"));
    if (m.limit < usage) throw invalid(`${field}.limit`, `${m.limit} is below the current usage (${usage} bytes) and checkBeforeUpdate is set`);
  }

  if (limit !== undefined && swap !== undefined) {
    // The kernel keeps memory.limit <= memsw.limit at every step: when the
    // new memsw is above the current memory limit (raising), memsw goes
    // first; otherwise (lowering) the memory limit goes first (runc's order).
    const current = Number(dir.read(MEMORY_LIMIT));
    if (swapValue === -1 || current < (swapValue ?? 0)) {
      dir.write(MEMSW, swap);
      dir.write(MEMORY_LIMIT, limit);
    } else {
      dir.write(MEMORY_LIMIT, limit);
      dir.write(MEMSW, swap);
    }
  } else if (limit !== undefined) dir.write(MEMORY_LIMIT, limit);
  else if (swap !== undefined) dir.write(MEMSW, swap);

  if (m.reservation !== undefined) dir.write("memory.soft_limit_in_bytes", byteLimit(`${field}.reservation`, m.reservation, "v1"));
  if (m.kernel !== undefined) dir.write("memory.kmem.limit_in_bytes", byteLimit(`${field}.kernel`, m.kernel, "v1"));
  if (m.kernelTCP !== undefined) dir.write("memory.kmem.tcp.limit_in_bytes", byteLimit(`${field}.kernelTCP`, m.kernelTCP, "v1"));
  if (m.swappiness !== undefined) {
    if (!Number.isInteger(m.swappiness) || m.swappiness < 0 || m.swappiness > 100) {
      throw invalid(`${field}.swappiness`, `${m.swappiness} is not between 0 and 100`);
    }
    dir.write("memory.swappiness", String(m.swappiness));
  }
  if (m.disableOOMKiller !== undefined) dir.write("memory.oom_control", m.disableOOMKiller ? "1" : "0");
  if (m.useHierarchy !== undefined) dir.write("memory.use_hierarchy", m.useHierarchy ? "1" : "0");
}

function writeCpu(dir: CgroupDir, cpu: CpuResources): void {
  const field = "linux.resources.cpu";
  // Real-time: the period before the runtime, as the kernel checks the runtime against it.
  if (cpu.realtimePeriod !== undefined) dir.write("cpu.rt_period_us", integer(`${field}.realtimePeriod`, cpu.realtimePeriod));
  if (cpu.realtimeRuntime !== undefined) dir.write("cpu.rt_runtime_us", integer(`${field}.realtimeRuntime`, cpu.realtimeRuntime));
  if (cpu.shares !== undefined && cpu.shares !== 0) {
    const shares = integer(`${field}.shares`, cpu.shares);
    dir.write("cpu.shares", shares);
    // The kernel clamps shares to 2..262144 silently; say so instead.
    const actual = dir.read("cpu.shares").trim();
    if (actual !== shares) throw invalid(`${field}.shares`, `${shares} is outside the range the kernel accepts (it set ${actual}; 2 to 262144)`);
  }
  if (cpu.period !== undefined) {
    const period = integer(`${field}.period`, cpu.period);
    try {
      dir.write("cpu.cfs_period_us", period);
    } catch (err) {
      // A shorter period than the current quota is refused until the quota is lowered: quota first, then retry.
      if (cpu.quota === undefined || !(err instanceof ContainrError) || err.errno !== 22) throw err;
      dir.write("cpu.cfs_quota_us", integer(`${field}.quota`, cpu.quota));
      dir.write("cpu.cfs_period_us", period);
    }
  }
  if (cpu.quota !== undefined) dir.write("cpu.cfs_quota_us", integer(`${field}.quota`, cpu.quota));
  if (cpu.burst !== undefined) dir.write("cpu.cfs_burst_us", integer(`${field}.burst`, cpu.burst));
  if (cpu.idle !== undefined) dir.write("cpu.idle", integer(`${field}.idle`, cpu.idle));
}

function writeCpuset(dir: CgroupDir, cpu: CpuResources): void {
  if (cpu.cpus) dir.write("cpuset.cpus", cpu.cpus);
  if (cpu.mems) dir.write("cpuset.mems", cpu.mems);
}

/**
 * The devices.allow/devices.deny writes for a rule list: deny everything,
 * then the spec's rules in their order (runc starts from deny-all too).
 */
export function deviceCgroupWrites(rules: DeviceCgroupRule[]): { file: "devices.allow" | "devices.deny"; line: string }[] {
  const writes: { file: "devices.allow" | "devices.deny"; line: string }[] = [{ file: "devices.deny", line: "a" }];
  rules.forEach((rule, i) => writes.push({ file: rule.allow ? "devices.allow" : "devices.deny", line: deviceRuleLine(rule, i) }));
  return writes;
}

function writeBlkio(dir: CgroupDir, r: Resources): void {
  const bio = blockIOOf(r) ?? {};
  const field = "linux.resources.blockIO";
  // CFQ's blkio.weight is gone from current kernels; BFQ offers blkio.bfq.weight.
  const weightFile = dir.has("blkio.weight") ? "blkio.weight" : "blkio.bfq.weight";
  if (bio.weight !== undefined) dir.write(weightFile, integer(`${field}.weight`, bio.weight));
  if (bio.leafWeight !== undefined) dir.write("blkio.leaf_weight", integer(`${field}.leafWeight`, bio.leafWeight));
  (bio.weightDevice ?? []).forEach((d, i) => {
    const dev = `${integer(`${field}.weightDevice[${i}].major`, d.major)}:${integer(`${field}.weightDevice[${i}].minor`, d.minor)}`;
    if (d.weight !== undefined) dir.write(`${weightFile}_device`, `${dev} ${integer(`${field}.weightDevice[${i}].weight`, d.weight)}`);
    if (d.leafWeight !== undefined) dir.write("blkio.leaf_weight_device", `${dev} ${integer(`${field}.weightDevice[${i}].leafWeight`, d.leafWeight)}`);
  });
  const throttle = (list: ThrottleDevice[] | undefined, name: string, file: string) =>
    (list ?? []).forEach((d, i) => dir.write(file, `${d.major}:${d.minor} ${integer(`${field}.${name}[${i}].rate`, d.rate)}`));
  throttle(bio.throttleReadBpsDevice, "throttleReadBpsDevice", "blkio.throttle.read_bps_device");
  throttle(bio.throttleWriteBpsDevice, "throttleWriteBpsDevice", "blkio.throttle.write_bps_device");
  throttle(bio.throttleReadIOPSDevice, "throttleReadIOPSDevice", "blkio.throttle.read_iops_device");
  throttle(bio.throttleWriteIOPSDevice, "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device");
}

const FREEZE_POLL_MS = 2;
const FREEZE_DEADLINE_MS = 5000;

/**
 * Write freezer.state and wait until it reads back: FROZEN passes through
 * FREEZING while tasks are being stopped, so keep asking until it settles.
 */
export function setFreezerState(dir: CgroupDir, state: "FROZEN" | "THAWED"): void {
  const deadline = Date.now() + FREEZE_DEADLINE_MS;
  for (;;) {
    dir.write("freezer.state", state);
    if (dir.read("freezer.state").trim() === state) return;
    if (Date.now() >= deadline) {
      throw new ContainrError("TIMEOUT", `freezer.state in ${dir.path} did not become ${state} within ${FREEZE_DEADLINE_MS / 1000}s`);
    }
    Bun.sleepSync(FREEZE_POLL_MS);
  }
}

export function isFrozenV1(dir: CgroupDir): boolean {
  return dir.read("freezer.state").trim() !== "THAWED";
}

const num = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
};

/** v1 reports "no limit" as the largest page-aligned value; treat anything from 2^62 up as none. */
const limitOrNone = (n: number | undefined) => (n === undefined || n >= 2 ** 62 ? undefined : n);

export function memoryStatsV1(dir: CgroupDir): CgroupStats["memory"] {
  // total_inactive_file counts the cgroup's children too, as usage_in_bytes does; inactive_file is the fallback (docker/cli)
  const stat = flatKeyed(dir.readIfPresent("memory.stat"));
  return {
    usage: num(dir.read("memory.usage_in_bytes")) ?? 0,
    inactiveFile: stat.get("total_inactive_file") ?? stat.get("inactive_file"),
    limit: limitOrNone(num(dir.readIfPresent("memory.limit_in_bytes"))),
    maxUsage: num(dir.readIfPresent("memory.max_usage_in_bytes")),
  };
}

export function cpuStatsV1(dir: CgroupDir): CgroupStats["cpu"] {
  return {
    usageNanos: num(dir.read("cpuacct.usage")) ?? 0,
    userNanos: num(dir.readIfPresent("cpuacct.usage_user")),
    systemNanos: num(dir.readIfPresent("cpuacct.usage_sys")),
  };
}

export function pidsStatsV1OrV2(dir: CgroupDir): CgroupStats["pids"] {
  const max = dir.readIfPresent("pids.max")?.trim();
  return { current: num(dir.read("pids.current")) ?? 0, limit: max === undefined || max === "max" ? undefined : num(max) };
}

/** blkio.throttle.io_service_bytes_recursive: "8:0 Read 4096" lines, summed over devices. */
export function blkioStatsV1(dir: CgroupDir): CgroupStats["blockIO"] {
  const text = dir.readIfPresent("blkio.throttle.io_service_bytes_recursive") ?? dir.readIfPresent("blkio.io_service_bytes_recursive") ?? "";
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split("\n")) {
    const [dev, op, value] = line.trim().split(/\s+/);
    if (!dev?.includes(":") || value === undefined) continue;
    if (op === "Read") readBytes += Number(value);
    else if (op === "Write") writeBytes += Number(value);
  }
  return { readBytes, writeBytes };
}
