/**
 * cgroup v2 (unified): one directory; controllers enabled in the
 * cgroup.subtree_control of every ancestor; limits converted from the spec's
 * v1-shaped values as runc and crun convert them. Used alone on a v2 host and
 * for the unified part of a hybrid host.
 */
import { join, relative } from "node:path";
import { ContainrError } from "../../diag/errors.ts";
import { log } from "../../diag/log.ts";
import type { CpuResources, DeviceCgroupRule, MemoryResources, Resources } from "../../oci/spec.ts";
import type { CgroupStats } from "./types.ts";
import { CgroupDir, flatKeyed } from "./fs.ts";
import {
  blockIOOf,
  byteLimit,
  checkUnifiedKey,
  hugepageSize,
  integer,
  invalid,
  pidsMax,
  rdmaLines,
  rdmaOf,
  sharesToWeight,
  swapForV2,
  type Section,
} from "./resources.ts";

/** Controllers the hierarchy offers at dir (its cgroup.controllers). */
export function availableControllers(dir: CgroupDir): Set<string> {
  return new Set((dir.readIfPresent("cgroup.controllers") ?? "").split(/\s+/).filter(Boolean));
}

/**
 * Enable controllers in cgroup.subtree_control of every cgroup from the
 * hierarchy's root down to the leaf's parent, so that the leaf gets their
 * files. `needed` must be offered at every level; with `all`, whatever else
 * a level offers is enabled too where the kernel allows it (runc and crun do
 * that on a v2 host, so that stats and later updates find their files). A
 * level that already delegates a controller is left alone, so an existing
 * parent with processes in it (where the kernel refuses changes) is fine.
 */
export function enableControllers(root: string, leaf: string, needed: Set<string>, all: boolean): void {
  const parts = relative(root, leaf).split("/").filter(Boolean);
  let dir = root;
  for (const part of parts) {
    const level = new CgroupDir(dir);
    const offered = availableControllers(level);
    const enabled = new Set((level.readIfPresent("cgroup.subtree_control") ?? "").split(/\s+/).filter(Boolean));
    for (const c of needed) {
      if (!offered.has(c)) {
        throw new ContainrError("CGROUP_UNAVAILABLE", `the ${c} controller is not available in ${dir} (cgroup.controllers: ${[...offered].join(" ") || "none"})`, {
          hint: "enable it in the parent's cgroup.subtree_control, or remove the limit that needs it",
        });
      }
    }
    const missing = [...needed].filter((c) => !enabled.has(c));
    const extra = all ? [...offered].filter((c) => !enabled.has(c) && !needed.has(c)) : [];
    const line = (list: string[]) => list.map((c) => `+${c}`).join(" ");
    if (missing.length + extra.length > 0) {
      try {
        level.write("cgroup.subtree_control", line([...missing, ...extra]));
      } catch (err) {
        if (extra.length === 0) throw err;
        // Retry without the extras; one that the level cannot delegate
        // (threaded, busy) is no reason to fail when no limit needs it.
        if (missing.length > 0) level.write("cgroup.subtree_control", line(missing));
        for (const c of extra) {
          try {
            level.write("cgroup.subtree_control", `+${c}`);
          } catch (one) {
            log.debug(`cgroups: cannot enable ${c} in ${dir}: ${(one as Error).message}`);
          }
        }
      }
    }
    dir = join(dir, part);
  }
}

/** Write one section of the request to the unified cgroup. */
export function applyV2(section: Section, dir: CgroupDir, r: Resources): void {
  switch (section) {
    case "memory":
      return writeMemory(dir, r.memory ?? {});
    case "cpu":
      return writeCpu(dir, r.cpu ?? {});
    case "cpuset":
      if (r.cpu?.cpus) dir.write("cpuset.cpus", r.cpu.cpus);
      if (r.cpu?.mems) dir.write("cpuset.mems", r.cpu.mems);
      return;
    case "pids":
      return dir.write("pids.max", pidsMax(r.pids?.limit ?? -1));
    case "devices":
      return checkDeviceRulesV2(r.devices ?? []);
    case "blockIO":
      return writeIo(dir, r);
    case "hugetlb":
      return (r.hugepageLimits ?? []).forEach((h, i) =>
        dir.write(`hugetlb.${hugepageSize(h.pageSize, i)}.max`, byteLimit(`linux.resources.hugepageLimits[${i}].limit`, h.limit, "v2")),
      );
    case "rdma":
      return rdmaLines(rdmaOf(r) ?? {}).forEach((line) => dir.write("rdma.max", line));
    case "netClass":
    case "netPriority":
      // Routing never sends these to v2 (net_cls and net_prio are v1-only).
      throw new ContainrError("INTERNAL", `cgroup v2 has no controller for ${section}`);
  }
}

function writeMemory(dir: CgroupDir, m: MemoryResources): void {
  const field = "linux.resources.memory";
  for (const key of ["kernel", "kernelTCP", "swappiness"] as const) {
    if (m[key] !== undefined) {
      throw new ContainrError("CGROUP_UNAVAILABLE", `${field}.${key}: cgroup v2 has no equivalent of this v1 setting`, {
        hint: `remove ${field}.${key}, or set the v2 file you want through linux.resources.unified`,
      });
    }
  }
  if (m.disableOOMKiller) {
    throw new ContainrError("CGROUP_UNAVAILABLE", `${field}.disableOOMKiller: cgroup v2 cannot disable the OOM killer`, {
      hint: "remove disableOOMKiller (memory.oom.group and memory.high are the v2 tools)",
    });
  }
  if (m.checkBeforeUpdate && m.limit !== undefined && m.limit > 0) {
    const usage = Number(dir.read("memory.current"));
    if (m.limit < usage) throw invalid(`${field}.limit`, `${m.limit} is below the current usage (${usage} bytes) and checkBeforeUpdate is set`);
  }
  // Swap before memory, as runc: the swap limit does not depend on memory.max in v2.
  const swap = swapForV2(m.swap, m.limit);
  if (swap !== undefined) {
    if (!dir.has("memory.swap.max")) {
      if (swap !== "max" && swap !== "0") {
        throw new ContainrError("CGROUP_UNAVAILABLE", `${field}.swap: memory.swap.max does not exist in ${dir.path}: the kernel has no swap accounting`, {
          hint: "boot the host with swapaccount=1 (or CONFIG_MEMCG_SWAP), or remove the swap limit",
        });
      }
    } else dir.write("memory.swap.max", swap);
  }
  if (m.limit !== undefined) dir.write("memory.max", byteLimit(`${field}.limit`, m.limit, "v2"));
  if (m.reservation !== undefined) dir.write("memory.low", byteLimit(`${field}.reservation`, m.reservation, "v2"));
}

function writeCpu(dir: CgroupDir, cpu: CpuResources): void {
  const field = "linux.resources.cpu";
  if (cpu.realtimeRuntime !== undefined || cpu.realtimePeriod !== undefined) {
    throw new ContainrError("CGROUP_UNAVAILABLE", `${field}.realtimeRuntime/realtimePeriod: cgroup v2 has no real-time CPU controller`, {
      hint: "remove the realtime settings, or run on a cgroup v1 host",
    });
  }
  if (cpu.shares !== undefined && cpu.shares !== 0) {
    dir.write("cpu.weight", String(sharesToWeight(Number(integer(`${field}.shares`, cpu.shares)))));
  }
  if (cpu.quota !== undefined || cpu.period !== undefined) {
    // cpu.max holds both: keep the half the request leaves out.
    const [curQuota = "max", curPeriod = "100000"] = (dir.readIfPresent("cpu.max") ?? "").trim().split(/\s+/).filter(Boolean);
    const quota = cpu.quota === undefined ? curQuota : cpu.quota <= 0 ? "max" : integer(`${field}.quota`, cpu.quota);
    const period = cpu.period === undefined || cpu.period === 0 ? curPeriod : integer(`${field}.period`, cpu.period);
    dir.write("cpu.max", `${quota} ${period}`);
  }
  if (cpu.burst !== undefined) dir.write("cpu.max.burst", integer(`${field}.burst`, cpu.burst));
  if (cpu.idle !== undefined) dir.write("cpu.idle", integer(`${field}.idle`, cpu.idle));
}

function writeIo(dir: CgroupDir, r: Resources): void {
  const bio = blockIOOf(r) ?? {};
  const field = "linux.resources.blockIO";
  // BFQ has its own weight file; io.weight is for the io.cost controller.
  const weightFile = dir.has("io.bfq.weight") ? "io.bfq.weight" : "io.weight";
  if (bio.weight !== undefined) dir.write(weightFile, integer(`${field}.weight`, bio.weight));
  if (bio.leafWeight !== undefined) throw new ContainrError("CGROUP_UNAVAILABLE", `${field}.leafWeight: cgroup v2 has no leaf weight`);
  (bio.weightDevice ?? []).forEach((d, i) => {
    if (d.leafWeight !== undefined) throw new ContainrError("CGROUP_UNAVAILABLE", `${field}.weightDevice[${i}].leafWeight: cgroup v2 has no leaf weight`);
    if (d.weight !== undefined) dir.write(weightFile, `${d.major}:${d.minor} ${integer(`${field}.weightDevice[${i}].weight`, d.weight)}`);
  });
  const max = (list: { major: number; minor: number; rate: number }[] | undefined, key: string, name: string) =>
    (list ?? []).forEach((d, i) => dir.write("io.max", `${d.major}:${d.minor} ${key}=${integer(`${field}.${name}[${i}].rate`, d.rate)}`));
  max(bio.throttleReadBpsDevice, "rbps", "throttleReadBpsDevice");
  max(bio.throttleWriteBpsDevice, "wbps", "throttleWriteBpsDevice");
  max(bio.throttleReadIOPSDevice, "riops", "throttleReadIOPSDevice");
  max(bio.throttleWriteIOPSDevice, "wiops", "throttleWriteIOPSDevice");
}

/**
 * The device rules every container gets anyway (runc's and Docker's default
 * set): mknod of any node, and the standard /dev nodes. On v2 these need no
 * enforcement beyond what the container's own /dev already gives; anything
 * else would need a BPF device program, which containr does not load yet.
 */
const DEFAULT_ALLOWED_DEVICES: ReadonlyArray<Required<Pick<DeviceCgroupRule, "type">> & { major: number | undefined; minor: number | undefined }> = [
  { type: "c", major: undefined, minor: undefined }, // c *:* m
  { type: "b", major: undefined, minor: undefined }, // b *:* m
  { type: "c", major: 1, minor: 3 }, // null
  { type: "c", major: 1, minor: 5 }, // zero
  { type: "c", major: 1, minor: 7 }, // full
  { type: "c", major: 1, minor: 8 }, // random
  { type: "c", major: 1, minor: 9 }, // urandom
  { type: "c", major: 5, minor: 0 }, // tty
  { type: "c", major: 5, minor: 1 }, // console
  { type: "c", major: 5, minor: 2 }, // ptmx
  { type: "c", major: 136, minor: undefined }, // pts/*
  { type: "c", major: 10, minor: 200 }, // net/tun
];

const wild = (n: number | undefined) => (n === undefined || n === -1 ? undefined : n);

function isDefaultAllow(rule: DeviceCgroupRule): boolean {
  if (!rule.allow) return false;
  const major = wild(rule.major);
  const minor = wild(rule.minor);
  return DEFAULT_ALLOWED_DEVICES.some((d) => {
    if (d.type !== rule.type || d.major !== major || d.minor !== minor) return false;
    // The wildcard entries are for mknod only.
    return d.major !== undefined || (rule.access ?? "rwm") === "m";
  });
}

/**
 * cgroup v2 enforces device rules only through a BPF program, which
 * containr does not load (docs/cgroups.md). Accept what needs no program:
 * rules that only allow, or deny-all followed by allows from the standard
 * list (and any denies); refuse anything else instead of pretending to
 * enforce it.
 */
export function checkDeviceRulesV2(rules: DeviceCgroupRule[]): void {
  // With no program attached, v2 allows every device: allow-only rules ask for nothing more.
  if (rules.every((r) => r.allow)) return;
  const [first, ...rest] = rules;
  const denyAll =
    first !== undefined && !first.allow && (first.type ?? "a") === "a" && wild(first.major) === undefined && wild(first.minor) === undefined && (first.access ?? "rwm") === "rwm";
  // After deny-all, only the allow rules widen access (a later deny only narrows it):
  // the list needs no program when every allow is one of the defaults.
  const offending = denyAll ? rest.find((r) => r.allow && !isDefaultAllow(r)) : rules.find((r) => !r.allow);
  if (offending === undefined) {
    log.debug("cgroups: the default device rules are not enforced by a BPF program on cgroup v2 (see docs/cgroups.md)");
    return;
  }
  throw new ContainrError(
    "CGROUP_UNAVAILABLE",
    `linux.resources.devices: the rule ${JSON.stringify(offending)} needs a cgroup v2 BPF device program, which containr does not implement`,
    { hint: "on cgroup v2 use only the default device rules, or run on a cgroup v1 or hybrid host (see docs/cgroups.md)" },
  );
}

/** linux.resources.unified, written verbatim after everything else (it overrides the typed fields, as in runc). */
export function writeUnified(dir: CgroupDir, unified: Record<string, string>): void {
  for (const [key, value] of Object.entries(unified)) {
    checkUnifiedKey(key);
    if (!dir.has(key)) {
      throw new ContainrError("CGROUP_UNAVAILABLE", `linux.resources.unified[${JSON.stringify(key)}]: ${dir.file(key)} does not exist`, {
        hint: "check the file name and that its controller is available (cgroup.controllers)",
      });
    }
    dir.write(key, value);
  }
}

const FREEZE_POLL_MS = 2;
const FREEZE_DEADLINE_MS = 5000;

/** Write cgroup.freeze and wait until cgroup.events says "frozen 1" (or 0). */
export function setFrozenV2(dir: CgroupDir, frozen: boolean): void {
  dir.write("cgroup.freeze", frozen ? "1" : "0");
  const want = frozen ? "1" : "0";
  const deadline = Date.now() + FREEZE_DEADLINE_MS;
  while (eventsField(dir, "frozen") !== want) {
    if (Date.now() >= deadline) {
      throw new ContainrError("TIMEOUT", `cgroup.events in ${dir.path} did not report frozen ${want} within ${FREEZE_DEADLINE_MS / 1000}s`);
    }
    Bun.sleepSync(FREEZE_POLL_MS);
  }
}

export function isFrozenV2(dir: CgroupDir): boolean {
  return (dir.readIfPresent("cgroup.freeze") ?? "0").trim() === "1";
}

function eventsField(dir: CgroupDir, key: string): string | undefined {
  for (const line of dir.read("cgroup.events").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === key) return v;
  }
  return undefined;
}

export function memoryStatsV2(dir: CgroupDir): CgroupStats["memory"] {
  const max = dir.readIfPresent("memory.max")?.trim();
  const peak = dir.readIfPresent("memory.peak");
  return {
    usage: Number(dir.read("memory.current")),
    inactiveFile: flatKeyed(dir.readIfPresent("memory.stat")).get("inactive_file"),
    limit: max === undefined || max === "max" ? undefined : Number(max),
    maxUsage: peak === undefined ? undefined : Number(peak),
  };
}

/** cpu.stat is a core file of every v2 cgroup (usage in microseconds). */
export function cpuStatsV2(dir: CgroupDir): CgroupStats["cpu"] {
  const stat = flatKeyed(dir.read("cpu.stat"));
  const us = (k: string) => (stat.has(k) ? (stat.get(k) as number) * 1000 : undefined);
  return { usageNanos: us("usage_usec") ?? 0, userNanos: us("user_usec"), systemNanos: us("system_usec") };
}

/** io.stat: "8:0 rbytes=N wbytes=N rios=N ..." per device. */
export function ioStatsV2(dir: CgroupDir): CgroupStats["blockIO"] {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of (dir.readIfPresent("io.stat") ?? "").split("\n")) {
    for (const field of line.trim().split(/\s+/).slice(1)) {
      const [k, v] = field.split("=");
      if (k === "rbytes") readBytes += Number(v);
      else if (k === "wbytes") writeBytes += Number(v);
    }
  }
  return { readBytes, writeBytes };
}
