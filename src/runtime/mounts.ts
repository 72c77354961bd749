/**
 * The spec's mounts as the child performs them: options parsed into MS_*
 * flags, propagation changes and filesystem data (runc's table), the
 * "cgroup" type expanded for the host's layout, and the default /dev
 * (tmpfs, devpts, shm) added where the spec has none.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, posix } from "node:path";
import type { Mount } from "../oci/spec.ts";
import { discoverLayout } from "../linux/cgroups/layout.ts";
import { invalidField } from "./bundle.ts";

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** How the child performs a mount (csrc/plan.h enum plan_mount_kind). */
export enum MountKind {
  Filesystem = 0,
  Bind = 1,
  Remount = 2,
}

export interface PlannedMount {
  kind: MountKind;
  source: string;
  destination: string;
  fstype: string;
  /** MS_* flags without propagation */
  flags: number;
  /** propagation changes applied after the mount, in order */
  propagation: number[];
  /** filesystem options (mode=755,size=...) */
  data: string;
}

const FLAG_OPTIONS: Record<string, { set?: number; clear?: number }> = {
  defaults: {},
  ro: { set: MS.RDONLY },
  rw: { clear: MS.RDONLY },
  nosuid: { set: MS.NOSUID },
  suid: { clear: MS.NOSUID },
  nodev: { set: MS.NODEV },
  dev: { clear: MS.NODEV },
  noexec: { set: MS.NOEXEC },
  exec: { clear: MS.NOEXEC },
  sync: { set: MS.SYNCHRONOUS },
  async: { clear: MS.SYNCHRONOUS },
  dirsync: { set: MS.DIRSYNC },
  remount: { set: MS.REMOUNT },
  mand: { set: MS.MANDLOCK },
  nomand: { clear: MS.MANDLOCK },
  atime: { clear: MS.NOATIME },
  noatime: { set: MS.NOATIME },
  diratime: { clear: MS.NODIRATIME },
  nodiratime: { set: MS.NODIRATIME },
  relatime: { set: MS.RELATIME },
  norelatime: { clear: MS.RELATIME },
  strictatime: { set: MS.STRICTATIME },
  nostrictatime: { clear: MS.STRICTATIME },
  lazytime: { set: MS.LAZYTIME },
  nolazytime: { clear: MS.LAZYTIME },
  nosymfollow: { set: MS.NOSYMFOLLOW },
  symfollow: { clear: MS.NOSYMFOLLOW },
  silent: { set: MS.SILENT },
  loud: { clear: MS.SILENT },
  bind: { set: MS.BIND },
  rbind: { set: MS.BIND | MS.REC },
};

export const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** Options of the spec that need what this runtime does not do yet (mount_setattr, idmapped mounts). */
const UNSUPPORTED_OPTIONS = new Set(["rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "rnoatime", "ratime", "rrelatime", "rnorelatime", "rnodiratime", "rdiratime", "rstrictatime", "rnostrictatime", "rnosymfollow", "rsymfollow", "idmap", "ridmap", "tmpcopyup"]);

const COMMON_TYPES = new Set(["bind", "proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2", "overlay", "ramfs"]);

let kernelFilesystems: Set<string> | undefined;

/** A type is known when the kernel lists it in /proc/filesystems (read only for an uncommon type). */
function isKnownType(type: string): boolean {
  if (COMMON_TYPES.has(type)) return true;
  kernelFilesystems ??= new Set(
    readFileSync("/proc/filesystems", "utf8")
      .split("\n")
      .map((line) => line.split("\t").pop()!.trim())
      .filter(Boolean),
  );
  return kernelFilesystems.has(type);
}

export function parseMount(m: Mount, index: number): PlannedMount {
  const field = `mounts[${index}]`;
  if (typeof m !== "object" || m === null) throw invalidField(field, "not an object");
  if (typeof m.destination !== "string" || !posix.isAbsolute(m.destination)) {
    throw invalidField(`${field}.destination`, `must be an absolute path, got ${JSON.stringify(m.destination)}`);
  }
  if (m.destination.split("/").includes("..")) throw invalidField(`${field}.destination`, `must not contain "..": ${m.destination}`);
  const options = m.options ?? [];
  if (!Array.isArray(options) || options.some((o) => typeof o !== "string")) throw invalidField(`${field}.options`, "must be an array of strings");

  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  for (const option of options) {
    if (UNSUPPORTED_OPTIONS.has(option)) {
      throw invalidField(`${field}.options`, `mount option "${option}" is not supported yet`, "remove the option, or use runc for this container");
    }
    const flag = FLAG_OPTIONS[option];
    if (flag) {
      flags = (flags | (flag.set ?? 0)) & ~(flag.clear ?? 0);
      continue;
    }
    const prop = PROPAGATION[option];
    if (prop !== undefined) {
      propagation.push(prop);
      continue;
    }
    data.push(option);
  }
  if (propagation.length > 4) throw invalidField(`${field}.options`, "at most 4 propagation options");

  const type = m.type ?? "";
  if (typeof type !== "string") throw invalidField(`${field}.type`, "must be a string");
  const isBind = (flags & MS.BIND) !== 0 || type === "bind";
  if (!isBind) {
    if (type === "" || type === "none") throw invalidField(`${field}.type`, `missing for ${m.destination} (and the mount is not a bind mount)`);
    if (!isKnownType(type)) throw invalidField(`${field}.type`, `unknown mount type "${type}"`, "see /proc/filesystems for the types this kernel knows");
  }
  const source = m.source ?? (isBind ? "" : type);
  if (typeof source !== "string") throw invalidField(`${field}.source`, "must be a string");
  if (isBind) {
    if (!posix.isAbsolute(source)) throw invalidField(`${field}.source`, `a bind mount needs an absolute source path, got ${JSON.stringify(source)}`);
    if (!existsSync(source)) throw invalidField(`${field}.source`, `bind mount source ${source} does not exist`);
    return { kind: MountKind.Bind, source, destination: m.destination, fstype: "", flags: flags | MS.BIND, propagation, data: "" };
  }
  return { kind: MountKind.Filesystem, source, destination: m.destination, fstype: type, flags, propagation, data: data.join(",") };
}

/**
 * A "cgroup" mount as the host's layout needs it: cgroup2 on a v2 host;
 * on v1 and hybrid hosts a tmpfs with one cgroup mount per hierarchy (and
 * cgroup2 at unified), made read-only afterwards when asked (runc does the
 * same). In a cgroup namespace each shows the container's own cgroup as root.
 */
export function expandCgroupMount(m: PlannedMount, cgroupRoot = "/sys/fs/cgroup"): PlannedMount[] {
  const layout = discoverLayout(cgroupRoot, readFileSync("/proc/self/mountinfo", "utf8"));
  const base = m.flags | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  if (layout.mode === "v2") return [{ ...m, fstype: "cgroup2", source: "cgroup2", flags: base, data: "" }];
  const rw = base & ~MS.RDONLY;
  const mounts: PlannedMount[] = [{ ...m, fstype: "tmpfs", source: "tmpfs", flags: rw, propagation: [], data: "mode=755" }];
  for (const hierarchy of layout.v1) {
    mounts.push({
      kind: MountKind.Filesystem,
      source: "cgroup",
      destination: posix.join(m.destination, basename(hierarchy.mountpoint)),
      fstype: "cgroup",
      flags: base,
      propagation: [],
      data: hierarchy.controllers.join(","),
    });
  }
  if (layout.unified) {
    mounts.push({ kind: MountKind.Filesystem, source: "cgroup2", destination: posix.join(m.destination, basename(layout.unified.mountpoint)), fstype: "cgroup2", flags: base, propagation: [], data: "" });
  }
  if (m.flags & MS.RDONLY) {
    mounts.push({ kind: MountKind.Remount, source: "", destination: m.destination, fstype: "", flags: rw | MS.RDONLY, propagation: [], data: "" });
  }
  if (m.propagation.length > 0) mounts[0] = { ...mounts[0]!, propagation: m.propagation };
  return mounts;
}

export interface MountPlan {
  mounts: PlannedMount[];
  /** create the default device nodes and links in /dev (not when /dev is a bind of the host's) */
  defaultDevices: boolean;
}

/**
 * All mounts in the order the child makes them. Without a /dev mount in
 * the spec the container gets a tmpfs /dev first (so that the rootfs is
 * never written to), with devpts and shm unless the spec mounts them.
 */
export function planMounts(specMounts: Mount[] | undefined): MountPlan {
  if (specMounts !== undefined && !Array.isArray(specMounts)) throw invalidField("mounts", "must be an array");
  const parsed = (specMounts ?? []).flatMap((m, i) => {
    const p = parseMount(m, i);
    return p.fstype === "cgroup" ? expandCgroupMount(p) : [p];
  });
  const has = (dest: string) => parsed.some((p) => posix.normalize(p.destination) === dest);
  const dev = parsed.find((p) => posix.normalize(p.destination) === "/dev");
  const mounts: PlannedMount[] = [];
  if (!dev) {
    mounts.push(fsMount("tmpfs", "/dev", MS.NOSUID | MS.STRICTATIME, "mode=755,size=65536k"));
  }
  mounts.push(...parsed);
  if (!dev && !has("/dev/pts")) mounts.push(fsMount("devpts", "/dev/pts", MS.NOSUID | MS.NOEXEC, "newinstance,ptmxmode=0666,mode=0620"));
  if (!dev && !has("/dev/shm")) mounts.push(fsMount("tmpfs", "/dev/shm", MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=1777,size=65536k"));
  return { mounts, defaultDevices: dev?.kind !== MountKind.Bind };
}

function fsMount(fstype: string, destination: string, flags: number, data: string): PlannedMount {
  return { kind: MountKind.Filesystem, source: fstype === "devpts" ? "devpts" : fstype, destination, fstype, flags, propagation: [], data };
}
