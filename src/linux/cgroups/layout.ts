/**
 * Where the host's cgroup hierarchies are, read from /proc/self/mountinfo
 * (never guessed from directory names), where this process sits in each
 * (/proc/self/cgroup), and how the spec's cgroupsPath maps onto them.
 */
import { isAbsolute, join, posix } from "node:path";
import { ContainrError } from "../../diag/errors.ts";
import type { CgroupMode } from "./types.ts";
import { invalid } from "./resources.ts";

export interface CgroupMount {
  /** "cgroup" (v1) or "cgroup2" */
  fsType: string;
  mountpoint: string;
  /** The cgroup this mount shows as its root (the 4th mountinfo field), "/" normally. */
  mountRoot: string;
  /** v1 controllers of the hierarchy, from the super options (cpu, cpuacct, name=systemd, ...); [] for cgroup2 */
  controllers: string[];
}

/** The layout under one root (/sys/fs/cgroup): the v1 hierarchies and the unified one. */
export interface CgroupLayout {
  mode: CgroupMode;
  root: string;
  v1: CgroupMount[];
  unified: CgroupMount | undefined;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/** The cgroup and cgroup2 mounts in mountinfo text. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split("\n")) {
    if (line.trim() === "") continue;
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    const fsType = right[0];
    if (fsType !== "cgroup" && fsType !== "cgroup2") continue;
    const mountRoot = left[3];
    const mountpoint = left[4];
    if (mountRoot === undefined || mountpoint === undefined) continue;
    const superOptions = (right[2] ?? "").split(",");
    const controllers =
      fsType === "cgroup" ? superOptions.filter((o) => o !== "rw" && o !== "ro" && !o.startsWith("release_agent=") && !["clone_children", "noprefix", "xattr", "cpuset_v2_mode", "nsdelegate", "favordynmods"].includes(o)) : [];
    mounts.push({ fsType, mountpoint: unescapeMountinfo(mountpoint), mountRoot: unescapeMountinfo(mountRoot), controllers });
  }
  return mounts;
}

const stripSlash = (p: string) => (p.length > 1 ? p.replace(/\/+$/, "") : p);

/**
 * v2 when root itself is cgroup2; hybrid when v1 hierarchies sit under root
 * and cgroup2 is at root/unified; v1 when only v1 hierarchies are there.
 * The last mount on a mountpoint wins, as it hides the ones below.
 */
export function discoverLayout(root: string, mountinfo: string): CgroupLayout {
  const base = stripSlash(root);
  const byMountpoint = new Map<string, CgroupMount>();
  for (const m of parseCgroupMounts(mountinfo)) byMountpoint.set(stripSlash(m.mountpoint), m);
  const atRoot = byMountpoint.get(base);
  if (atRoot?.fsType === "cgroup2") return { mode: "v2", root: base, v1: [], unified: atRoot };

  const v1: CgroupMount[] = [];
  const seen = new Set<string>();
  for (const [mp, m] of byMountpoint) {
    if (m.fsType !== "cgroup" || posix.dirname(mp) !== base || m.controllers.length === 0) continue;
    const key = [...m.controllers].sort().join(",");
    if (seen.has(key)) continue; // the same hierarchy mounted twice (cpu and cpu,cpuacct links)
    seen.add(key);
    v1.push(m);
  }
  const unifiedMount = byMountpoint.get(`${base}/unified`);
  const unified = unifiedMount?.fsType === "cgroup2" ? unifiedMount : undefined;
  if (v1.length === 0) {
    throw new ContainrError("CGROUP_UNAVAILABLE", `no cgroup hierarchy is mounted at ${base}`, {
      hint: "mount cgroup2 at /sys/fs/cgroup (or the v1 controllers under it); check /proc/self/mountinfo",
    });
  }
  return { mode: unified ? "hybrid" : "v1", root: base, v1, unified };
}

/**
 * /proc/self/cgroup: "ID:CONTROLLERS:PATH" per hierarchy. Returns the path
 * for each v1 controller name (cpu, cpuacct, name=systemd, ...) and "" for
 * the unified hierarchy's "0::" line.
 */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === "") out.set("", path);
    else for (const c of controllers.split(",")) out.set(c, path);
  }
  return out;
}

/** The spec's cgroupsPath, checked: runc's systemd "slice:prefix:name" form and ".." are refused. */
export function checkCgroupsPath(cgroupsPath: string): string {
  const field = "linux.cgroupsPath";
  if (/^[^/:]*:[^:]*:[^:]*$/.test(cgroupsPath)) {
    throw new ContainrError("INVALID_CONFIG", `${field}: ${JSON.stringify(cgroupsPath)} is a systemd cgroup (slice:prefix:name); systemd cgroups are not supported`, {
      hint: "use a cgroupfs path such as /containr/ID, or leave linux.cgroupsPath out",
    });
  }
  if (cgroupsPath.split("/").some((part) => part === "..")) throw invalid(field, `${JSON.stringify(cgroupsPath)} contains ".."`);
  if (cgroupsPath.includes("\0")) throw invalid(field, "contains a NUL byte");
  return cgroupsPath;
}

/** The default cgroup of a container with no cgroupsPath. */
export function defaultCgroupsPath(containerId: string): string {
  if (containerId === "" || containerId.includes("/") || containerId === "." || containerId === "..") {
    throw new ContainrError("INVALID_CONFIG", `container id ${JSON.stringify(containerId)} cannot name a cgroup`);
  }
  return `/containr/${containerId}`;
}

/**
 * The directory of the container's cgroup in one hierarchy. An absolute
 * cgroupsPath is taken from the hierarchy's root; a relative one from the
 * cgroup this process is in there (ownPath, from /proc/self/cgroup). When the
 * mount shows a sub-cgroup as its root (mountRoot, a container's view), the
 * own path is made relative to it.
 */
export function cgroupDirectory(mount: CgroupMount, cgroupsPath: string, ownPath: string | undefined): string {
  let inHierarchy: string;
  if (isAbsolute(cgroupsPath)) inHierarchy = posix.normalize(cgroupsPath);
  else {
    let own = ownPath ?? "/";
    if (mount.mountRoot !== "/" && (own === mount.mountRoot || own.startsWith(`${mount.mountRoot}/`))) own = own.slice(mount.mountRoot.length) || "/";
    inHierarchy = posix.normalize(posix.join("/", own, cgroupsPath));
  }
  inHierarchy = stripSlash(inHierarchy);
  if (inHierarchy === "/" || inHierarchy === "") {
    throw invalid("linux.cgroupsPath", `${JSON.stringify(cgroupsPath)} names the root cgroup of ${mount.mountpoint}, which a container cannot own`);
  }
  return join(mount.mountpoint, inHierarchy);
}
