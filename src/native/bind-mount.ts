/**
 * Typed wrappers over csrc/lib/bindfd.c: a bind mount (with its submounts,
 * private, read-only if asked) attached onto an O_PATH fd rather than a
 * path, and detached again through the fd the attach returned. For `cp`
 * with a stopped container, whose volumes and bind mounts go on mount
 * points resolved inside its root.
 */
import { dlopen, FFIType } from "bun:ffi";
import { fromErrno } from "../diag/errors.ts";
import { libraryPath } from "./library.ts";

const { i32, ptr } = FFIType;

let lib: ReturnType<typeof load> | undefined;

function load() {
  return dlopen(libraryPath(), {
    containr_bindfd_attach: { args: [ptr, i32, i32, ptr], returns: i32 },
    containr_bindfd_detach: { args: [i32], returns: i32 },
  }).symbols;
}

function sym() {
  lib ??= load();
  return lib;
}

/** The step of an attach that failed (CONTAINR_BINDFD_STAGE_* in bindfd.c). */
const STAGES: Record<number, string> = { 1: "open_tree", 2: "mount_setattr", 3: "move_mount" };

/**
 * Bind `source` (followed; its submounts too) onto the mount point that
 * `targetfd` (an O_PATH fd) refers to, private, read-only when readOnly.
 * Returns the mount's fd: pass it to detachBind, which closes it.
 */
export function attachBind(source: string, targetfd: number, readOnly: boolean, target: string): number {
  const stage = new Int32Array(1);
  const rc = sym().containr_bindfd_attach(Buffer.from(`${source}\0`, "utf8"), targetfd, readOnly ? 1 : 0, stage);
  if (rc < 0) throw fromErrno(-rc, `bind mount ${source} on ${target}: ${STAGES[stage[0]!] ?? "attach"}`, "MOUNT_FAILED");
  return rc;
}

/** Unmount (MNT_DETACH) the mount attachBind returned, and close its fd. */
export function detachBind(mountfd: number, target: string): void {
  const rc = sym().containr_bindfd_detach(mountfd);
  if (rc < 0) throw fromErrno(-rc, `unmount ${target}`, "MOUNT_FAILED");
}
