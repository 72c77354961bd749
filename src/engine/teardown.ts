/**
 * Taking a container apart, step by step and idempotently, so that the same
 * functions serve a failed create, the exit command, `rm` and the clean-up
 * after a monitor that died: each step checks what is there first.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { toContainrError } from "../diag/errors.ts";
import { log, stepTimer } from "../diag/log.ts";
import { unmountOverlay } from "../image/overlay.ts";
import { deleteContainer, discardUnfinishedCreate } from "../runtime/container.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import { releaseVolumes, volumeNames } from "./mounts.ts";
import { releaseNetwork } from "./network.ts";
import type { ContainerRecord } from "./records.ts";
import { withVolumes } from "./volumes.ts";

/** Is something mounted exactly at path (/proc/self/mountinfo, field 5)? */
export function isMountPoint(path: string): boolean {
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return false;
  }
  for (const line of text.split("\n")) {
    const field = line.split(" ")[4];
    if (field === undefined) continue;
    if (field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))) === path) return true;
  }
  return false;
}

/**
 * Kill what is left of the container's processes and remove its cgroup and
 * runtime state, then release its address and port rules on the bridge
 * (its veth goes with its network namespace, gone with its processes).
 */
export function releaseRuntime(ctx: EngineContext, id: string): void {
  if (!existsSync(`${ctx.runtime.root}/${id}/state.json`)) {
    // a start whose CLI was killed during the runtime's create (it runs in the CLI's process)
    discardUnfinishedCreate(ctx.runtime, id, containerPaths(ctx, id).bundle);
  } else {
    deleteContainer(ctx.runtime, id, true);
  }
  releaseNetwork(id);
}

/** Unmount the container's root filesystem (lazily if something still holds it). */
export function unmountRootfs(ctx: EngineContext, id: string): void {
  const { rootfs } = containerPaths(ctx, id);
  while (isMountPoint(rootfs)) {
    try {
      unmountOverlay(rootfs);
    } catch (err) {
      // the monitor's exit command and a user's rm may both be here: the other one may have unmounted it
      if (!isMountPoint(rootfs)) return;
      log.debug(`unmount ${rootfs}: ${toContainrError(err).message}; detaching it`);
      try {
        unmountOverlay(rootfs, { detach: true });
      } catch (detachErr) {
        if (isMountPoint(rootfs)) throw detachErr;
      }
    }
  }
}

export interface DestroyOptions {
  /** rm -v, --rm, a failed create: also remove the container's anonymous volumes that nobody else uses */
  removeAnonymousVolumes?: boolean;
  /** a create that failed part-way asked for volumes its record does not list yet */
  volumesRequested?: boolean;
}

/**
 * Everything: processes, cgroup, mounts, run directory, image reference,
 * record and data directory, and the container's hold on its volumes.
 */
export function destroyContainer(ctx: EngineContext, record: ContainerRecord, options: DestroyOptions = {}): void {
  const timer = stepTimer(`remove ${record.id}`);
  releaseRuntime(ctx, record.id);
  timer.step("runtime");
  unmountRootfs(ctx, record.id);
  rmSync(containerPaths(ctx, record.id).run, { recursive: true, force: true });
  timer.step("unmount");
  if (record.imageId !== "") ctx.images.open().removeImageUser(record.imageId, record.id);
  ctx.records.remove(record.id);
  timer.step("record");
  // the volume store (a SQLite open and close) only for a container that may hold volumes;
  // after the record: a crash in between leaves a user the volume store drops as stale
  if (options.volumesRequested !== true && volumeNames(record.mounts).length === 0) return;
  const containerExists = (id: string) => ctx.records.list().some((r) => r.id === id);
  withVolumes(ctx.dataRoot, (volumes) => releaseVolumes(volumes, record.id, options.removeAnonymousVolumes === true, containerExists));
}
