/**
 * The spec checked and turned into what the container's first process
 * needs (ContainerConfig), field by field, before anything is created.
 * Errors name the field: "config.json: process.rlimits[1].type: unknown
 * rlimit "RLIMIT_FOO"".
 */
import { posix } from "node:path";
import type { Namespace, Process, Rlimit, Spec } from "../oci/spec.ts";
import { invalidField, type Bundle } from "./bundle.ts";
import { checkHooks, type CheckedHooks } from "./hooks.ts";
import { planMounts, PROPAGATION, type PlannedMount } from "./mounts.ts";
import { maskedPaths, plannedDevices, processSecurity, type PlannedDevice, type ProcessSecurity } from "./security.ts";
import { idMaps, type IdMaps } from "./userns.ts";

export const CLONE = {
  NEWTIME: 0x80,
  NEWNS: 0x20000,
  NEWCGROUP: 0x2000000,
  NEWUTS: 0x4000000,
  NEWIPC: 0x8000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

const NAMESPACE_FLAGS: Record<string, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

export const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

export interface ContainerConfig {
  rootfs: string;
  /** CLONE_NEW* of the namespaces to create */
  cloneFlags: number;
  /** namespaces to join: CLONE_NEW* flag and path */
  joins: { flag: number; path: string }[];
  mounts: PlannedMount[];
  defaultDevices: boolean;
  /** MS_* for / before the mounts; 0 keeps the default rslave */
  rootPropagation: number;
  readonlyRoot: boolean;
  hostname?: string;
  domainname?: string;
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  umask?: number;
  rlimits: { resource: number; soft: bigint; hard: bigint }[];
  /** path below /proc/sys and value */
  sysctl: [string, string][];
  oomScoreAdj?: number;
  security: ProcessSecurity;
  maskedPaths: string[];
  readonlyPaths: string[];
  devices: PlannedDevice[];
  /** the maps of a new user namespace */
  idMaps?: IdMaps;
  hooks: CheckedHooks;
}

const isUint32 = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

function stringArray(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) throw invalidField(field, "must be an array of strings");
  const withNul = value.findIndex((v: string) => v.includes("\0"));
  if (withNul >= 0) throw invalidField(`${field}[${withNul}]`, "contains a NUL byte");
  return value as string[];
}

function namespaces(list: Namespace[] | undefined): { cloneFlags: number; joins: ContainerConfig["joins"] } {
  if (list !== undefined && !Array.isArray(list)) throw invalidField("linux.namespaces", "must be an array");
  let cloneFlags = 0;
  const joins: ContainerConfig["joins"] = [];
  const seen = new Set<string>();
  (list ?? []).forEach((ns, i) => {
    const flag = NAMESPACE_FLAGS[ns?.type as string];
    if (flag === undefined) throw invalidField(`linux.namespaces[${i}].type`, `unknown namespace ${JSON.stringify(ns?.type)}`, `use one of ${Object.keys(NAMESPACE_FLAGS).join(", ")}`);
    if (seen.has(ns.type)) throw invalidField(`linux.namespaces[${i}].type`, `namespace "${ns.type}" is listed twice`);
    seen.add(ns.type);
    if (ns.path !== undefined && ns.path !== "") {
      if (typeof ns.path !== "string" || !posix.isAbsolute(ns.path)) throw invalidField(`linux.namespaces[${i}].path`, "must be an absolute path");
      joins.push({ flag, path: ns.path });
    } else {
      cloneFlags |= flag;
    }
  });
  if (!seen.has("mount")) {
    throw invalidField("linux.namespaces", "a mount namespace is required (the container's mounts and pivot_root must not touch the host)", 'add {"type": "mount"}');
  }
  if (joins.some((j) => j.flag === CLONE.NEWNS)) {
    throw invalidField("linux.namespaces", "joining an existing mount namespace by path is not supported: the container's root filesystem needs a new one");
  }
  return { cloneFlags, joins };
}

function rlimits(list: Rlimit[] | undefined): ContainerConfig["rlimits"] {
  if (list !== undefined && !Array.isArray(list)) throw invalidField("process.rlimits", "must be an array");
  const seen = new Set<string>();
  return (list ?? []).map((rl, i) => {
    const field = `process.rlimits[${i}]`;
    const resource = RLIMITS[rl?.type];
    if (resource === undefined) throw invalidField(`${field}.type`, `unknown rlimit ${JSON.stringify(rl?.type)}`);
    if (seen.has(rl.type)) throw invalidField(`${field}.type`, `${rl.type} is listed twice`);
    seen.add(rl.type);
    for (const key of ["soft", "hard"] as const) {
      if (!Number.isSafeInteger(rl[key]) && rl[key] !== 2 ** 64 - 1) throw invalidField(`${field}.${key}`, "must be a non-negative integer");
      if (rl[key] < 0) throw invalidField(`${field}.${key}`, "must be a non-negative integer");
    }
    // JSON numbers above 2^53 (RLIM_INFINITY is 2^64-1) are not exact: treat them as infinity.
    const value = (n: number) => (n >= 2 ** 63 ? 0xffffffffffffffffn : BigInt(n));
    if (rl.soft > rl.hard) throw invalidField(field, `soft limit ${rl.soft} is above the hard limit ${rl.hard}`);
    return { resource, soft: value(rl.soft), hard: value(rl.hard) };
  });
}

function sysctl(map: Record<string, string> | undefined): [string, string][] {
  if (map === undefined) return [];
  if (typeof map !== "object" || map === null || Array.isArray(map)) throw invalidField("linux.sysctl", "must be an object of strings");
  return Object.entries(map).map(([key, value]) => {
    if (typeof value !== "string") throw invalidField(`linux.sysctl.${key}`, "must be a string");
    // "net.ipv4.ip_forward" → "net/ipv4/ip_forward"; a "/" in a key stands for a "." in a name (eth0.100)
    const path = key.replace(/[./]/g, (c) => (c === "." ? "/" : "."));
    if (path === "" || path.split("/").some((part) => part === "" || part === "." || part === "..")) {
      throw invalidField(`linux.sysctl`, `invalid sysctl name ${JSON.stringify(key)}`);
    }
    return [path, value];
  });
}

/** The process's own fields (a container's init, or an `oci exec` process), checked. */
export type ProcessConfig = Pick<ContainerConfig, "args" | "env" | "cwd" | "uid" | "gid" | "additionalGids" | "umask" | "rlimits" | "oomScoreAdj">;

export function processConfig(proc: Process | undefined): ProcessConfig {
  if (typeof proc !== "object" || proc === null) throw invalidField("process", "missing: the container needs a process to run");
  const args = stringArray(proc.args, "process.args");
  if (args.length === 0 || args[0] === "") throw invalidField("process.args", "must name the command to run");
  if (typeof proc.cwd !== "string" || !posix.isAbsolute(proc.cwd)) throw invalidField("process.cwd", `must be an absolute path, got ${JSON.stringify(proc.cwd)}`);
  const env = stringArray(proc.env, "process.env");
  const user = proc.user ?? { uid: 0, gid: 0 };
  if (!isUint32(user.uid)) throw invalidField("process.user.uid", "must be a non-negative integer");
  if (!isUint32(user.gid)) throw invalidField("process.user.gid", "must be a non-negative integer");
  const additionalGids = user.additionalGids ?? [];
  if (!Array.isArray(additionalGids)) throw invalidField("process.user.additionalGids", "must be an array of integers");
  additionalGids.forEach((g, i) => {
    if (!isUint32(g)) throw invalidField(`process.user.additionalGids[${i}]`, "must be a non-negative integer");
  });
  if (user.umask !== undefined && !(Number.isInteger(user.umask) && user.umask >= 0 && user.umask <= 0o777)) {
    throw invalidField("process.user.umask", "must be an integer from 0 to 0777");
  }
  if (proc.oomScoreAdj !== undefined && !(Number.isInteger(proc.oomScoreAdj) && proc.oomScoreAdj >= -1000 && proc.oomScoreAdj <= 1000)) {
    throw invalidField("process.oomScoreAdj", "must be an integer from -1000 to 1000");
  }
  return { args, env, cwd: proc.cwd, uid: user.uid, gid: user.gid, additionalGids, umask: user.umask, rlimits: rlimits(proc.rlimits), oomScoreAdj: proc.oomScoreAdj };
}

export function containerConfig(bundle: Bundle): ContainerConfig {
  const spec: Spec = bundle.spec;
  const process = processConfig(spec.process);
  const proc = spec.process!;

  const linux = spec.linux ?? {};
  const { cloneFlags, joins } = namespaces(linux.namespaces);
  const newUts = (cloneFlags & CLONE.NEWUTS) !== 0;
  for (const key of ["hostname", "domainname"] as const) {
    const value = spec[key];
    if (value === undefined || value === "") continue;
    if (typeof value !== "string") throw invalidField(key, "must be a string");
    if (!newUts) throw invalidField(key, `setting the ${key} needs a new uts namespace`, 'add {"type": "uts"} to linux.namespaces');
  }
  let rootPropagation = 0;
  if (linux.rootfsPropagation !== undefined) {
    const flag = PROPAGATION[linux.rootfsPropagation];
    if (flag === undefined) throw invalidField("linux.rootfsPropagation", `unknown propagation ${JSON.stringify(linux.rootfsPropagation)}`, `use one of ${Object.keys(PROPAGATION).join(", ")}`);
    rootPropagation = flag;
  }
  const { mounts, defaultDevices } = planMounts(spec.mounts);
  const paths = maskedPaths(linux);

  return {
    rootfs: bundle.rootfs,
    cloneFlags,
    joins,
    mounts,
    defaultDevices,
    rootPropagation,
    readonlyRoot: spec.root?.readonly === true,
    hostname: spec.hostname || undefined,
    domainname: spec.domainname || undefined,
    ...process,
    sysctl: sysctl(linux.sysctl),
    security: processSecurity(proc, linux.seccomp),
    maskedPaths: paths.masked,
    readonlyPaths: paths.readonly,
    devices: plannedDevices(linux.devices),
    idMaps: idMaps(linux, (cloneFlags & CLONE.NEWUSER) !== 0),
    hooks: checkHooks(spec.hooks),
  };
}
