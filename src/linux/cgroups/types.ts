import type { Resources } from "../../oci/spec.ts";

/** How the host's cgroups are laid out. */
export type CgroupMode = "v1" | "v2" | "hybrid";

export interface CgroupStats {
  memory?: {
    /** the cgroup's charge, page cache included (v1 memory.usage_in_bytes, v2 memory.current) */
    usage: number;
    /** the part of usage that is page cache the kernel reclaims first (memory.stat inactive_file) */
    inactiveFile?: number;
    limit?: number;
    maxUsage?: number;
  };
  cpu?: { usageNanos: number; userNanos?: number; systemNanos?: number };
  pids?: { current: number; limit?: number };
  blockIO?: { readBytes: number; writeBytes: number };
}

/**
 * One container's cgroup, on whatever layout the host has (crun's
 * libcrun_cgroup_manager, youki's CgroupManager). Created before the
 * container's process runs; removed on delete.
 */
export interface CgroupManager {
  readonly mode: CgroupMode;
  /** Create the cgroup (every controller on v1) and write the limits. Undoes itself if it fails half-way. */
  create(resources: Resources | undefined): void;
  /** Move a process in (v1: every controller's cgroup.procs; v2: the unified cgroup). */
  addProcess(pid: number): void;
  /** The v2 (or hybrid unified) directory, for clone3 CLONE_INTO_CGROUP; undefined on pure v1. */
  unifiedPath(): string | undefined;
  /** Directory of each controller ("unified" for v2), for state, exec and diagnostics. */
  paths(): Record<string, string>;
  /** Pids of every process in the cgroup. */
  pids(): number[];
  /** Write new limits (oci update). */
  update(resources: Resources): void;
  freeze(): void;
  thaw(): void;
  stats(): CgroupStats;
  /** Signal every process in the cgroup. */
  killAll(signal: number): void;
  /** Remove the cgroup directories; tolerates ones already gone. */
  destroy(): void;
}
