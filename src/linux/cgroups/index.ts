/**
 * cgroups for the runtime: detect the host's layout (v1, v2, hybrid) and
 * give the container a CgroupManager for it. See docs/cgroups.md.
 */
import { readFileSync } from "node:fs";
import { ContainrError } from "../../diag/errors.ts";
import { log } from "../../diag/log.ts";
import type { Resources } from "../../oci/spec.ts";
import type { CgroupManager, CgroupMode, CgroupStats } from "./types.ts";
import { CgroupDir } from "./fs.ts";
import { cgroupDirectory, checkCgroupsPath, defaultCgroupsPath, discoverLayout, parseProcCgroup, type CgroupMount } from "./layout.ts";
import { FsCgroupManager, type UnifiedMember, type V1Member } from "./manager.ts";
import { availableControllers } from "./v2.ts";
import { requestsLimits } from "./resources.ts";

export type { CgroupManager, CgroupMode, CgroupStats } from "./types.ts";
export { sharesToWeight, swapForV2 } from "./resources.ts";

export const DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup";

export interface CgroupManagerOptions {
  containerId: string;
  /** linux.cgroupsPath from the spec */
  cgroupsPath?: string;
  /** Where the hierarchies are mounted (default /sys/fs/cgroup; tests pass a fixture directory). */
  root?: string;
  /** /proc/self/mountinfo text (fixtures); read from /proc when absent */
  mountinfo?: string;
  /** /proc/self/cgroup text (fixtures); read from /proc when absent */
  procSelfCgroup?: string;
  /**
   * The directories of an existing container's cgroup, as its manager's
   * paths() returned them when it was created. Later commands (delete,
   * pause, exec) pass them, since a relative cgroupsPath depends on the
   * cgroup of the process that resolved it.
   */
  paths?: Record<string, string>;
  /**
   * Rootless: when creating the cgroup is not permitted, warn and run without
   * one (runc --rootless=auto), unless the spec asks for limits.
   */
  rootless?: boolean;
}

/** v2 when root is cgroup2, hybrid when v1 hierarchies and root/unified are both there, else v1. */
export function detectCgroupMode(root = DEFAULT_CGROUP_ROOT, mountinfo?: string): CgroupMode {
  return discoverLayout(root, mountinfo ?? readFileSync("/proc/self/mountinfo", "utf8")).mode;
}

function savedPath(paths: Record<string, string> | undefined, key: string, mount: CgroupMount): string | undefined {
  const saved = paths?.[key];
  if (saved === undefined) return undefined;
  if (!saved.startsWith(`${mount.mountpoint.replace(/\/$/, "")}/`) || saved.split("/").includes("..")) {
    throw new ContainrError("INVALID_CONFIG", `saved cgroup path ${JSON.stringify(saved)} for ${key} is not inside ${mount.mountpoint}`);
  }
  return saved;
}

/** The manager for a container's cgroup on this host's layout. */
export function cgroupManagerFor(options: CgroupManagerOptions): CgroupManager {
  const root = options.root ?? DEFAULT_CGROUP_ROOT;
  const layout = discoverLayout(root, options.mountinfo ?? readFileSync("/proc/self/mountinfo", "utf8"));
  const own = parseProcCgroup(options.procSelfCgroup ?? readFileSync("/proc/self/cgroup", "utf8"));
  const cgroupsPath = options.cgroupsPath ? checkCgroupsPath(options.cgroupsPath) : defaultCgroupsPath(options.containerId);

  const v1: V1Member[] = layout.v1.map((mount) => {
    const key = mount.controllers[0] as string;
    const path = savedPath(options.paths, key, mount) ?? cgroupDirectory(mount, cgroupsPath, own.get(key));
    return { mount, dir: new CgroupDir(path) };
  });
  let unified: UnifiedMember | undefined;
  if (layout.unified) {
    const mount = layout.unified;
    const path = savedPath(options.paths, "unified", mount) ?? cgroupDirectory(mount, cgroupsPath, own.get(""));
    unified = { mount, dir: new CgroupDir(path), offered: availableControllers(new CgroupDir(mount.mountpoint)) };
  }
  const manager = new FsCgroupManager(layout.mode, v1, unified);
  return options.rootless ? new RootlessCgroupManager(manager) : manager;
}

/**
 * runc's --rootless=auto: if the caller may not create the cgroup, run
 * without one and say so; but a spec that asks for limits is an error,
 * never a limit dropped in silence.
 */
class RootlessCgroupManager implements CgroupManager {
  private withoutCgroup = false;

  constructor(private readonly inner: CgroupManager) {}

  get mode(): CgroupMode {
    return this.inner.mode;
  }

  create(resources: Resources | undefined): void {
    try {
      this.inner.create(resources);
    } catch (err) {
      if (!(err instanceof ContainrError) || err.code !== "PERMISSION_DENIED") throw err;
      if (requestsLimits(resources)) {
        throw new ContainrError("PERMISSION_DENIED", `${err.message}: a rootless container can only have resource limits in a cgroup delegated to its user`, {
          errno: err.errno,
          cause: err,
          hint: "remove linux.resources limits, or delegate a cgroup to your user (systemd: Delegate=yes) and point linux.cgroupsPath into it",
        });
      }
      log.warn(`cgroups: ${err.message}; running the rootless container without a cgroup of its own`);
      this.withoutCgroup = true;
    }
  }

  private noCgroup(what: string): ContainrError {
    return new ContainrError("CGROUP_UNAVAILABLE", `cannot ${what}: the rootless container has no cgroup of its own`, {
      hint: "delegate a cgroup to your user (systemd: Delegate=yes) to pause, update or list its processes",
    });
  }

  addProcess(pid: number): void {
    if (!this.withoutCgroup) this.inner.addProcess(pid);
  }

  unifiedPath(): string | undefined {
    return this.withoutCgroup ? undefined : this.inner.unifiedPath();
  }

  paths(): Record<string, string> {
    return this.withoutCgroup ? {} : this.inner.paths();
  }

  pids(): number[] {
    if (this.withoutCgroup) throw this.noCgroup("list the container's processes");
    return this.inner.pids();
  }

  update(resources: Resources): void {
    if (this.withoutCgroup) {
      if (requestsLimits(resources)) throw this.noCgroup("set resource limits");
      return;
    }
    this.inner.update(resources);
  }

  freeze(): void {
    if (this.withoutCgroup) throw this.noCgroup("pause");
    this.inner.freeze();
  }

  thaw(): void {
    if (this.withoutCgroup) throw this.noCgroup("resume");
    this.inner.thaw();
  }

  stats(): CgroupStats {
    return this.withoutCgroup ? {} : this.inner.stats();
  }

  killAll(signal: number): void {
    if (this.withoutCgroup) throw this.noCgroup("signal every process");
    this.inner.killAll(signal);
  }

  destroy(): void {
    if (!this.withoutCgroup) this.inner.destroy();
  }
}
