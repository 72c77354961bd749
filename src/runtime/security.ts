/**
 * The security half of a process's set-up, checked and compiled before the
 * clone: capability masks, no_new_privs, the seccomp BPF program, masked and
 * read-only paths, linux.devices and the terminal. Used for a container's
 * init (config.ts) and for `oci exec` (exec.ts). Errors name the field.
 */
import { posix } from "node:path";
import { capabilityMasks, type CapabilityMasks } from "../linux/capabilities.ts";
import { nativeSeccompArch } from "../linux/seccomp/arch.ts";
import { compileSeccomp, type CompiledSeccomp } from "../linux/seccomp/compile.ts";
import { cachedCompile } from "./seccomp-cache.ts";
import type { Device, DeviceCgroupRule, Linux, Process, Resources, Seccomp } from "../oci/spec.ts";
import { invalidField } from "./bundle.ts";

export interface PlannedDevice {
  path: string;
  /** S_IFCHR/S_IFBLK/S_IFIFO | permission bits */
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
}

export interface ProcessSecurity {
  /** undefined: process.capabilities is absent and the capabilities stay as they are */
  caps?: CapabilityMasks;
  noNewPrivileges: boolean;
  seccomp?: CompiledSeccomp;
  /** process.terminal: the pty's size (0 × 0 when consoleSize is absent) */
  terminal?: { rows: number; cols: number };
}

const S_IFMT = 0o170000;
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const DEVICE_TYPES: Record<string, number> = { c: S_IFCHR, u: S_IFCHR, b: S_IFBLK, p: S_IFIFO };

const isUint32 = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

export function compileProfile(seccomp: Seccomp | undefined): CompiledSeccomp | undefined {
  if (seccomp === undefined) return undefined;
  if (typeof seccomp !== "object" || seccomp === null) throw invalidField("linux.seccomp", "must be an object");
  if (seccomp.listenerPath) {
    throw invalidField("linux.seccomp.listenerPath", "seccomp notify agents are not supported", "remove listenerPath and the SCMP_ACT_NOTIFY rules");
  }
  const nativeArch = nativeSeccompArch();
  const compiled = cachedCompile(seccomp, nativeArch, () => compileSeccomp(seccomp, { nativeArch }));
  if (compiled.notify) {
    // a listener fd nobody receives would leave the notifying calls blocked forever
    throw invalidField("linux.seccomp", "SCMP_ACT_NOTIFY needs a seccomp agent (listenerPath), which is not supported", "use SCMP_ACT_ERRNO or SCMP_ACT_LOG instead");
  }
  return compiled;
}

/** The process's security settings (process.capabilities, noNewPrivileges, terminal) and the container's seccomp profile. */
export function processSecurity(proc: Process, seccomp: Seccomp | undefined): ProcessSecurity {
  if (proc.capabilities !== undefined && (typeof proc.capabilities !== "object" || proc.capabilities === null)) {
    throw invalidField("process.capabilities", "must be an object");
  }
  for (const set of ["bounding", "effective", "inheritable", "permitted", "ambient"] as const) {
    const names = proc.capabilities?.[set];
    if (names !== undefined && (!Array.isArray(names) || names.some((n) => typeof n !== "string"))) {
      throw invalidField(`process.capabilities.${set}`, "must be an array of capability names");
    }
  }
  let terminal: ProcessSecurity["terminal"];
  if (proc.terminal) {
    const size = proc.consoleSize;
    if (size !== undefined && !(Number.isInteger(size.height) && Number.isInteger(size.width) && size.height >= 0 && size.width >= 0 && size.height < 65536 && size.width < 65536)) {
      throw invalidField("process.consoleSize", "height and width must be integers from 0 to 65535");
    }
    terminal = { rows: size?.height ?? 0, cols: size?.width ?? 0 };
  }
  return {
    caps: proc.capabilities ? capabilityMasks(proc.capabilities) : undefined,
    noNewPrivileges: proc.noNewPrivileges === true,
    seccomp: compileProfile(seccomp),
    terminal,
  };
}

function pathList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidField(field, "must be an array of absolute paths");
  value.forEach((p, i) => {
    if (typeof p !== "string" || !posix.isAbsolute(p) || p.includes("\0")) throw invalidField(`${field}[${i}]`, `must be an absolute path, got ${JSON.stringify(p)}`);
  });
  return value as string[];
}

export function maskedPaths(linux: Linux): { masked: string[]; readonly: string[] } {
  return { masked: pathList(linux.maskedPaths, "linux.maskedPaths"), readonly: pathList(linux.readonlyPaths, "linux.readonlyPaths") };
}

/** linux.devices: each a node to mknod in the container (or to bind from the host where mknod is refused). */
export function plannedDevices(devices: Device[] | undefined): PlannedDevice[] {
  if (devices === undefined) return [];
  if (!Array.isArray(devices)) throw invalidField("linux.devices", "must be an array");
  return devices.map((d, i) => {
    const field = `linux.devices[${i}]`;
    const type = DEVICE_TYPES[d?.type as string];
    if (type === undefined) throw invalidField(`${field}.type`, `unknown device type ${JSON.stringify(d?.type)}`, "use c, u, b or p");
    if (typeof d.path !== "string" || !posix.isAbsolute(d.path) || d.path.split("/").includes("..")) {
      throw invalidField(`${field}.path`, `must be an absolute path without "..", got ${JSON.stringify(d.path)}`);
    }
    if (type !== S_IFIFO) {
      for (const key of ["major", "minor"] as const) if (!isUint32(d[key])) throw invalidField(`${field}.${key}`, "must be a non-negative integer");
    }
    for (const key of ["uid", "gid"] as const) if (d[key] !== undefined && !isUint32(d[key])) throw invalidField(`${field}.${key}`, "must be a non-negative integer");
    const fileMode = d.fileMode ?? 0o666;
    if (!Number.isInteger(fileMode) || fileMode < 0 || fileMode > 0o7777) throw invalidField(`${field}.fileMode`, "must be a permission mode up to 07777");
    return { path: posix.normalize(d.path), mode: type | (fileMode & 0o7777), major: d.major ?? 0, minor: d.minor ?? 0, uid: d.uid ?? 0, gid: d.gid ?? 0 };
  });
}

/** runc's AllowedDevices: what every container may use whatever its rules say (specconv). */
const DEFAULT_DEVICE_RULES: DeviceCgroupRule[] = [
  { allow: true, type: "c", access: "m" },
  { allow: true, type: "b", access: "m" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, // null
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" }, // random
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" }, // full
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" }, // tty
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }, // zero
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" }, // urandom
  { allow: true, type: "c", major: 136, access: "rwm" }, // pts/*
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // ptmx
  { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }, // net/tun
];

/**
 * The device cgroup rules as runc applies them: the spec's rules in order,
 * then the nodes of linux.devices, then the default devices every container
 * needs (its /dev, and the pty its terminal comes from).
 */
export function withDeviceRules(resources: Resources | undefined, devices: PlannedDevice[]): Resources | undefined {
  if (!resources?.devices?.length) return resources;
  const nodes: DeviceCgroupRule[] = devices
    .filter((d) => (d.mode & S_IFMT) !== S_IFIFO)
    .map((d) => ({ allow: true, type: (d.mode & S_IFMT) === S_IFBLK ? "b" : "c", major: d.major, minor: d.minor, access: "rwm" }));
  return { ...resources, devices: [...resources.devices, ...nodes, ...DEFAULT_DEVICE_RULES] };
}
