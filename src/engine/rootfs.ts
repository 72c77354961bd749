/**
 * A container's root filesystem: an overlay of its image's layers with its
 * own writable layer (diff/ and work/ in its data directory).
 *
 * A container removed when it exits (--rm) gets a volatile overlay, as
 * podman's transient storage: its writable layer is never synced to disk,
 * which makes the unmount at its end cheap. After a host crash such a layer
 * may be inconsistent and the kernel refuses to mount it again; it is then
 * thrown away and the container starts from its image, as a fresh --rm
 * container would.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { log } from "../diag/log.ts";
import { mountOverlay, VOLATILE_MARKER } from "../image/overlay.ts";
import type { ContainerPaths } from "./context.ts";

/** An empty writable layer: the upper directory and overlayfs' work directory. */
export function makeWritableLayer(paths: ContainerPaths): void {
  mkdirSync(paths.work, { mode: 0o700 });
  // the overlay's root directory takes the upper directory's mode: 0700 would lock every non-root user out of "/"
  mkdirSync(paths.diff, { mode: 0o755 });
}

/** Mount the root filesystem on paths.rootfs over the image's layers (bottom-most first). */
export function mountRootfs(paths: ContainerPaths, layerDirs: readonly string[], autoRemove: boolean): void {
  if (autoRemove && existsSync(join(paths.work, VOLATILE_MARKER))) {
    log.warn(`the writable layer of ${paths.data} was mounted without syncs when the host went down; starting it from its image again`);
    for (const dir of [paths.diff, paths.work]) rmSync(dir, { recursive: true, force: true });
    makeWritableLayer(paths);
  }
  mountOverlay({ lowers: [...layerDirs].reverse(), upper: paths.diff, work: paths.work, target: paths.rootfs, volatile: autoRemove });
}
