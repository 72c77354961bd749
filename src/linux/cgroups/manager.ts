/**
 * The cgroupfs manager for all three layouts. A v1 host has only v1
 * hierarchies, a v2 host only the unified one, a hybrid host both: v1
 * controllers are used as v1, the unified directory tracks the processes
 * (and serves CLONE_INTO_CGROUP), and a controller only the unified
 * hierarchy has (hugetlb on the development host) is used there.
 */
import { ContainrError } from "../../diag/errors.ts";
import type { Resources } from "../../oci/spec.ts";
import type { CgroupManager, CgroupMode, CgroupStats } from "./types.ts";
import { CgroupDir, makeCgroupDirs, removeCgroupDirs, removeCgroupTree } from "./fs.ts";
import type { CgroupMount } from "./layout.ts";
import { requestedSections, SECTION_CONTROLLERS, unifiedKeyController, checkUnifiedKey, type Section } from "./resources.ts";
import {
  applyV1,
  blkioStatsV1,
  cpuStatsV1,
  inheritCpuset,
  isFrozenV1,
  memoryStatsV1,
  pidsStatsV1OrV2,
  setFreezerState,
} from "./v1.ts";
import {
  applyV2,
  cpuStatsV2,
  enableControllers,
  ioStatsV2,
  isFrozenV2,
  memoryStatsV2,
  setFrozenV2,
  writeUnified,
} from "./v2.ts";

/** The container's directory in one v1 hierarchy. */
export interface V1Member {
  mount: CgroupMount;
  dir: CgroupDir;
}

/** The container's directory in the unified hierarchy, and what the hierarchy's root offers. */
export interface UnifiedMember {
  mount: CgroupMount;
  dir: CgroupDir;
  offered: Set<string>;
}

type Route = "v1" | "v2";

const SIGKILL = 9;

export class FsCgroupManager implements CgroupManager {
  constructor(
    readonly mode: CgroupMode,
    private readonly v1: V1Member[],
    private readonly unified: UnifiedMember | undefined,
  ) {}

  private v1Member(controller: string): V1Member | undefined {
    return this.v1.find((m) => m.mount.controllers.includes(controller));
  }

  private v1Dir(controller: string): CgroupDir {
    const member = this.v1Member(controller);
    if (!member) throw new ContainrError("INTERNAL", `no v1 hierarchy for ${controller}`);
    return member.dir;
  }

  private allDirs(): CgroupDir[] {
    return [...this.v1.map((m) => m.dir), ...(this.unified ? [this.unified.dir] : [])];
  }

  /**
   * Which layout serves each part of the request. A part that no mounted
   * controller can serve is an error naming the controller: a limit is
   * never dropped silently.
   */
  private route(r: Resources | undefined): Map<Section, Route> {
    const routes = new Map<Section, Route>();
    for (const section of requestedSections(r)) {
      const { v1, v2, field } = SECTION_CONTROLLERS[section];
      if (this.v1Member(v1)) routes.set(section, "v1");
      else if (this.unified && v2 !== undefined && this.unified.offered.has(v2)) routes.set(section, "v2");
      // v2 has no devices controller: its rules are a BPF program (checked in applyV2).
      else if (this.unified && section === "devices" && this.mode === "v2") routes.set(section, "v2");
      else {
        const name = this.mode === "v1" || v2 === undefined ? v1 : `${v1} (v1) or ${v2} (v2)`;
        throw new ContainrError("CGROUP_UNAVAILABLE", `${field} needs the ${name} controller, which this host does not have mounted`, {
          hint: "mount the controller (see /proc/cgroups and /proc/self/mountinfo), or remove the limit",
        });
      }
    }
    for (const key of Object.keys(r?.unified ?? {})) {
      checkUnifiedKey(key);
      if (!this.unified) {
        throw new ContainrError("CGROUP_UNAVAILABLE", `linux.resources.unified[${JSON.stringify(key)}]: the host has no cgroup v2 hierarchy`, {
          hint: "linux.resources.unified is for cgroup v2 hosts; use the typed fields of linux.resources on cgroup v1",
        });
      }
      const controller = unifiedKeyController(key);
      if (controller !== undefined && !this.unified.offered.has(controller)) {
        throw new ContainrError("CGROUP_UNAVAILABLE", `linux.resources.unified[${JSON.stringify(key)}]: the unified hierarchy has no ${controller} controller`, {
          hint: `available there: ${[...this.unified.offered].join(" ") || "none"}`,
        });
      }
    }
    return routes;
  }

  /** The unified controllers a request needs enabled down to the container's cgroup. */
  private neededUnified(r: Resources | undefined, routes: Map<Section, Route>): Set<string> {
    const needed = new Set<string>();
    for (const [section, where] of routes) {
      const v2 = SECTION_CONTROLLERS[section].v2;
      if (where === "v2" && v2 !== undefined) needed.add(v2);
    }
    for (const key of Object.keys(r?.unified ?? {})) {
      const c = unifiedKeyController(key);
      if (c !== undefined) needed.add(c);
    }
    return needed;
  }

  private apply(r: Resources | undefined, routes: Map<Section, Route>, updating: boolean): void {
    if (!r) return;
    for (const [section, where] of routes) {
      if (where === "v1") applyV1(section, (c) => this.v1Dir(c), r, updating);
      else applyV2(section, (this.unified as UnifiedMember).dir, r);
    }
    if (this.unified && r.unified) writeUnified(this.unified.dir, r.unified);
  }

  create(resources: Resources | undefined): void {
    const routes = this.route(resources);
    const created: string[] = [];
    try {
      for (const m of this.v1) {
        const onCreated = m.mount.controllers.includes("cpuset") ? inheritCpuset : undefined;
        created.push(...makeCgroupDirs(m.dir.path, onCreated));
      }
      if (this.unified) {
        created.push(...makeCgroupDirs(this.unified.dir.path));
        enableControllers(this.unified.mount.mountpoint, this.unified.dir.path, this.neededUnified(resources, routes), this.mode === "v2");
      }
      this.apply(resources, routes, false);
    } catch (err) {
      removeCgroupDirs(created.reverse());
      throw err;
    }
  }

  update(resources: Resources): void {
    const routes = this.route(resources);
    if (this.unified) enableControllers(this.unified.mount.mountpoint, this.unified.dir.path, this.neededUnified(resources, routes), false);
    this.apply(resources, routes, true);
  }

  addProcess(pid: number): void {
    for (const dir of this.allDirs()) dir.write("cgroup.procs", String(pid));
  }

  unifiedPath(): string | undefined {
    return this.unified?.dir.path;
  }

  paths(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of this.v1) for (const c of m.mount.controllers) out[c] = m.dir.path;
    if (this.unified) out.unified = this.unified.dir.path;
    return out;
  }

  pids(): number[] {
    const all = new Set<number>();
    for (const dir of this.allDirs()) for (const pid of dir.pids(true)) all.add(pid);
    return [...all].sort((a, b) => a - b);
  }

  /** The v1 freezer when mounted, else the unified hierarchy's cgroup.freeze. */
  private freezer(): { set(frozen: boolean): void; isFrozen(): boolean } | undefined {
    const v1 = this.v1Member("freezer");
    if (v1) return { set: (f) => setFreezerState(v1.dir, f ? "FROZEN" : "THAWED"), isFrozen: () => isFrozenV1(v1.dir) };
    const unified = this.unified;
    if (unified) return { set: (f) => setFrozenV2(unified.dir, f), isFrozen: () => isFrozenV2(unified.dir) };
    return undefined;
  }

  private requireFreezer(): { set(frozen: boolean): void; isFrozen(): boolean } {
    const freezer = this.freezer();
    if (!freezer) {
      throw new ContainrError("CGROUP_UNAVAILABLE", "the freezer controller is not mounted", {
        hint: "mount the v1 freezer hierarchy (or use a cgroup v2 host) to pause containers",
      });
    }
    return freezer;
  }

  freeze(): void {
    this.requireFreezer().set(true);
  }

  thaw(): void {
    this.requireFreezer().set(false);
  }

  /**
   * SIGKILL through cgroup.kill where the kernel has it (v2, 5.14+).
   * Otherwise freeze, signal every process, thaw: no process can fork a
   * child that escapes the signal meanwhile. A paused cgroup stays paused.
   */
  killAll(signal: number): void {
    if (signal === SIGKILL && this.unified?.dir.has("cgroup.kill")) {
      this.unified.dir.write("cgroup.kill", "1");
      return;
    }
    const freezer = this.freezer();
    const thawAfter = freezer !== undefined && !freezer.isFrozen();
    if (thawAfter) freezer.set(true);
    try {
      for (const pid of this.pids()) {
        try {
          process.kill(pid, signal);
        } catch (err) {
          if ((err as { code?: string }).code !== "ESRCH") throw err;
        }
      }
    } finally {
      if (thawAfter) freezer.set(false);
    }
  }

  stats(): CgroupStats {
    const stats: CgroupStats = {};
    const u = this.unified?.dir;
    const memory = this.v1Member("memory");
    if (memory) stats.memory = memoryStatsV1(memory.dir);
    else if (u?.has("memory.current")) stats.memory = memoryStatsV2(u);
    const cpuacct = this.v1Member("cpuacct");
    if (cpuacct) stats.cpu = cpuStatsV1(cpuacct.dir);
    else if (u?.has("cpu.stat")) stats.cpu = cpuStatsV2(u);
    const pids = this.v1Member("pids");
    if (pids) stats.pids = pidsStatsV1OrV2(pids.dir);
    else if (u?.has("pids.current")) stats.pids = pidsStatsV1OrV2(u);
    const blkio = this.v1Member("blkio");
    if (blkio) stats.blockIO = blkioStatsV1(blkio.dir);
    else if (u?.has("io.stat")) stats.blockIO = ioStatsV2(u);
    return stats;
  }

  destroy(): void {
    let first: unknown;
    for (const dir of this.allDirs()) {
      try {
        removeCgroupTree(dir.path);
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}
