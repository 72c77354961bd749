/**
 * The spec's linux.resources, checked and converted before anything touches
 * cgroupfs: which controllers a request needs, the v1→v2 conversions runc
 * and crun use (shares → weight, memory+swap → swap), and the value formats
 * the kernel expects. Pure functions: unit-tested without cgroups.
 */
import { ContainrError } from "../../diag/errors.ts";
import type { DeviceCgroupRule, Resources } from "../../oci/spec.ts";

/** linux.resources.blockIO as the runtime-spec defines it (spec.ts keeps it opaque). */
export interface BlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: { major: number; minor: number; weight?: number; leafWeight?: number }[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}

export interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

/** linux.resources.network. */
export interface Network {
  classID?: number;
  priorities?: { name: string; priority: number }[];
}

/** linux.resources.rdma: device name → limits. */
export type Rdma = Record<string, { hcaHandles?: number; hcaObjects?: number }>;

export const blockIOOf = (r: Resources): BlockIO | undefined => r.blockIO as BlockIO | undefined;
export const networkOf = (r: Resources): Network | undefined => r.network as Network | undefined;
export const rdmaOf = (r: Resources): Rdma | undefined => r.rdma as Rdma | undefined;

/**
 * The parts of a request, each served by one controller. The manager routes
 * each to the v1 hierarchy or the unified one, and refuses one that no
 * mounted controller can serve.
 */
export type Section =
  | "memory"
  | "cpu"
  | "cpuset"
  | "pids"
  | "devices"
  | "blockIO"
  | "hugetlb"
  | "netClass"
  | "netPriority"
  | "rdma";

/** Controller names per layout; undefined: the layout has no such controller. */
export const SECTION_CONTROLLERS: Record<Section, { v1: string; v2: string | undefined; field: string }> = {
  memory: { v1: "memory", v2: "memory", field: "linux.resources.memory" },
  cpu: { v1: "cpu", v2: "cpu", field: "linux.resources.cpu" },
  cpuset: { v1: "cpuset", v2: "cpuset", field: "linux.resources.cpu.cpus/mems" },
  pids: { v1: "pids", v2: "pids", field: "linux.resources.pids" },
  devices: { v1: "devices", v2: undefined, field: "linux.resources.devices" },
  blockIO: { v1: "blkio", v2: "io", field: "linux.resources.blockIO" },
  hugetlb: { v1: "hugetlb", v2: "hugetlb", field: "linux.resources.hugepageLimits" },
  netClass: { v1: "net_cls", v2: undefined, field: "linux.resources.network.classID" },
  netPriority: { v1: "net_prio", v2: undefined, field: "linux.resources.network.priorities" },
  rdma: { v1: "rdma", v2: "rdma", field: "linux.resources.rdma" },
};

const hasAny = (obj: object | undefined, keys: string[]): boolean =>
  obj !== undefined && keys.some((k) => (obj as Record<string, unknown>)[k] !== undefined);

/** The sections a request asks for (a section with only unset fields is not asked for). */
export function requestedSections(r: Resources | undefined): Set<Section> {
  const out = new Set<Section>();
  if (!r) return out;
  if (r.memory && Object.values(r.memory).some((v) => v !== undefined)) out.add("memory");
  if (hasAny(r.cpu, ["shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod", "idle"])) out.add("cpu");
  if (r.cpu?.cpus || r.cpu?.mems) out.add("cpuset");
  if (r.pids !== undefined) out.add("pids");
  if (r.devices !== undefined) out.add("devices");
  const bio = blockIOOf(r);
  if (bio && Object.values(bio).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0))) out.add("blockIO");
  if (r.hugepageLimits && r.hugepageLimits.length > 0) out.add("hugetlb");
  const net = networkOf(r);
  if (net?.classID !== undefined) out.add("netClass");
  if (net?.priorities && net.priorities.length > 0) out.add("netPriority");
  const rdma = rdmaOf(r);
  if (rdma && Object.keys(rdma).length > 0) out.add("rdma");
  return out;
}

/** True when the request sets any limit at all (rootless mode may not drop one silently). */
export function requestsLimits(r: Resources | undefined): boolean {
  if (!r) return false;
  const sections = requestedSections(r);
  // Device rules are not a limit a rootless container can lose: in a user
  // namespace it cannot mknod, and the device nodes it gets are bind mounts
  // of nodes the user may already open (runc --rootless=auto does the same).
  sections.delete("devices");
  return sections.size > 0 || Object.keys(r.unified ?? {}).length > 0;
}

export function invalid(field: string, message: string): ContainrError {
  return new ContainrError("INVALID_CONFIG", `${field}: ${message}`, {
    hint: "correct the value in config.json (see the OCI runtime-spec, config-linux.md)",
  });
}

/** An integer as the kernel reads it (no exponent, no fraction). */
export function integer(field: string, value: number): string {
  if (!Number.isInteger(value)) throw invalid(field, `${JSON.stringify(value)} is not an integer`);
  return BigInt(value).toString();
}

/** A byte limit: -1 is "unlimited" (v1 writes -1, v2 writes "max"); other negatives are errors. */
export function byteLimit(field: string, value: number, layout: "v1" | "v2"): string {
  if (value === -1) return layout === "v1" ? "-1" : "max";
  if (value < 0) throw invalid(field, `${value} is negative (use -1 for unlimited)`);
  return integer(field, value);
}

/**
 * cpu shares (v1, 2..262144, default 1024) → cpu.weight (v2, 1..10000,
 * default 100). This is the conversion runc (opencontainers/cgroups
 * ConvertCPUSharesToCgroupV2Value since runc 1.3.2), youki and current crun
 * use: a quadratic in log2(shares) through the three points min, default and
 * max. Older crun and runc used the linear 1 + ((shares-2)*9999)/262142,
 * which maps the default 1024 to 39 instead of 100.
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612 - 7 / 34;
  return Math.ceil(10 ** exponent);
}

/**
 * The spec's memory.swap is memory+swap (the v1 memsw meaning); v2's
 * memory.swap.max is swap alone. Returns the v2 value, or undefined when
 * nothing is to be written. Same rules as runc's ConvertMemorySwapToCgroupV2Value.
 */
export function swapForV2(swap: number | undefined, limit: number | undefined): string | undefined {
  const field = "linux.resources.memory.swap";
  if (swap === undefined) return limit === -1 ? "max" : undefined;
  if (swap === -1) return "max";
  if (swap === 0) return limit === -1 ? "max" : undefined;
  if (limit === undefined || limit === 0 || limit === -1) {
    throw invalid(field, `a swap limit (${swap}) needs a memory limit`);
  }
  if (swap < limit) throw invalid(field, `memory+swap (${swap}) is less than the memory limit (${limit})`);
  return integer(field, swap - limit);
}

/** pids.max: a positive limit as is; 0 or -1 mean "no limit" (as runc writes them). */
export function pidsMax(limit: number): string {
  if (limit <= 0) {
    if (limit !== 0 && limit !== -1) throw invalid("linux.resources.pids.limit", `${limit} is negative (use -1 for unlimited)`);
    return "max";
  }
  return integer("linux.resources.pids.limit", limit);
}

/** A v1 devices.allow/devices.deny line: "c 1:3 rwm", "a *:* rwm". */
export function deviceRuleLine(rule: DeviceCgroupRule, index: number): string {
  const field = `linux.resources.devices[${index}]`;
  const type = rule.type ?? "a";
  if (!["a", "b", "c"].includes(type)) throw invalid(field, `type ${JSON.stringify(type)} is not a, b or c`);
  const access = rule.access ?? "rwm";
  if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length) {
    throw invalid(field, `access ${JSON.stringify(access)} is not a combination of r, w and m`);
  }
  const num = (n: number | undefined, what: string) => {
    if (n === undefined || n === -1) return "*";
    if (!Number.isInteger(n) || n < 0) throw invalid(field, `${what} ${n} is not a device number`);
    return String(n);
  };
  return `${type} ${num(rule.major, "major")}:${num(rule.minor, "minor")} ${access}`;
}

/**
 * Keys of linux.resources.unified name files in the container's own cgroup
 * directory: a plain file name, never a path.
 */
export function checkUnifiedKey(key: string): void {
  if (key === "" || key.includes("/") || key === "." || key === ".." || key.includes("\0")) {
    throw invalid(`linux.resources.unified[${JSON.stringify(key)}]`, "must be a cgroup file name (no \"/\" or \"..\")");
  }
  if (!key.includes(".")) {
    throw invalid(`linux.resources.unified[${JSON.stringify(key)}]`, "is not a cgroup file name (CONTROLLER.FILE)");
  }
}

/** The controller a unified key belongs to ("memory.high" → "memory"; "cgroup.*" is core, none). */
export function unifiedKeyController(key: string): string | undefined {
  const prefix = key.slice(0, key.indexOf("."));
  return prefix === "cgroup" ? undefined : prefix;
}

/** "2MB" / "1GB": the page size as hugetlb file names spell it. */
export function hugepageSize(pageSize: string, index: number): string {
  if (!/^[0-9]+[KMG]B$/.test(pageSize)) {
    throw invalid(`linux.resources.hugepageLimits[${index}].pageSize`, `${JSON.stringify(pageSize)} is not a size like 2MB or 1GB`);
  }
  return pageSize;
}

/** rdma.max lines, the same in v1 and v2: "mlx4_0 hca_handle=2 hca_object=2000". */
export function rdmaLines(rdma: Rdma): string[] {
  return Object.entries(rdma).map(([device, limit]) => {
    if (device === "" || /\s/.test(device)) throw invalid("linux.resources.rdma", `${JSON.stringify(device)} is not a device name`);
    const parts = [device];
    if (limit.hcaHandles !== undefined) parts.push(`hca_handle=${integer(`linux.resources.rdma.${device}.hcaHandles`, limit.hcaHandles)}`);
    if (limit.hcaObjects !== undefined) parts.push(`hca_object=${integer(`linux.resources.rdma.${device}.hcaObjects`, limit.hcaObjects)}`);
    return parts.join(" ");
  });
}
