/**
 * Mount an image's root filesystem: overlayfs over its layer directories.
 *
 * Many layers must still mount. The classic mount(2) option string is one
 * page (4096 bytes), which ~40 layers under /var/lib/containr/... exceed. On
 * Linux 6.8+ the new mount API takes each layer separately
 * (fsopen + fsconfig "lowerdir+" per layer + fsmount + move_mount), with no
 * total length limit. Older kernels get mount(2), and when the string would
 * not fit, short symlinks to the layer directories in a private temporary
 * directory (podman keeps an l/ directory for the same reason); the kernel
 * resolves them at mount time, so they are removed right after.
 *
 * These run in the Bun process on the host mount namespace: mount and umount
 * are not per-thread, and nothing here changes cwd or namespaces.
 */
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainrError, fromErrno } from "../diag/errors.ts";
import { log } from "../diag/log.ts";
import * as fs from "../native/fs.ts";

export interface OverlayMount {
  /** layer directories, top-most first */
  lowers: string[];
  /** writable layer and its work directory (same filesystem); both or neither */
  upper?: string;
  work?: string;
  target: string;
  /** mount read-only (always so without an upper directory) */
  readonly?: boolean;
  /** a rootless store: overlay xattrs in the user.* namespace (the userxattr option) */
  rootless?: boolean;
  /**
   * overlayfs' volatile option: no sync of the upper layer, ever (not even
   * at unmount). For a writable layer that is thrown away with its
   * container; after a crash the kernel refuses to mount it again with
   * work/incompat/volatile present (see VOLATILE_MARKER).
   */
  volatile?: boolean;
  /** "auto" (default): the new mount API when the kernel has lowerdir+, else mount(2) */
  api?: "auto" | "fsconfig" | "mount";
}

/** What a volatile mount leaves in its work directory until it is unmounted (a crash keeps it). */
export const VOLATILE_MARKER = "work/incompat/volatile";

/** One page, minus room for the terminating NUL. */
const MOUNT_DATA_LIMIT = 4095;

function mountFailed(o: OverlayMount, detail: string, errno?: number): ContainrError {
  return new ContainrError("MOUNT_FAILED", `mount overlay on ${o.target}: ${detail}`, {
    errno,
    hint: "check that every layer directory exists, and that upper and work are empty directories on one filesystem",
  });
}

function validate(o: OverlayMount): void {
  if (o.lowers.length === 0) throw new ContainrError("INTERNAL", `mount overlay on ${o.target}: no layer directories`);
  if ((o.upper === undefined) !== (o.work === undefined)) {
    throw new ContainrError("INTERNAL", `mount overlay on ${o.target}: upper and work directories go together`);
  }
}

/** Mount the layers (top-most first) with an optional writable upper directory at o.target. */
export function mountOverlay(o: OverlayMount): void {
  validate(o);
  const readonly = o.readonly === true || o.upper === undefined;
  if (o.upper === undefined && o.lowers.length === 1) {
    // overlayfs needs two lower layers without an upper one; a single layer is the tree itself.
    fs.bindReadonly(o.lowers[0]!, o.target);
    return;
  }
  const api = o.api ?? "auto";
  if (api !== "mount") {
    const done = mountWithFsconfig(o, readonly, api === "fsconfig");
    if (done) return;
  }
  mountWithOptionString(o, readonly);
}

/** The new mount API; false when the kernel lacks it (or lowerdir+) and `required` is not set. */
function mountWithFsconfig(o: OverlayMount, readonly: boolean, required: boolean): boolean {
  const fsfd = fs.overlayOpen();
  if (fsfd === null) {
    if (required) throw mountFailed(o, "the kernel has no fsopen (Linux 5.2+ needed)");
    return false;
  }
  try {
    const set = (key: string, value: string | null): void => {
      const rc = fs.overlaySet(fsfd, key, value);
      if (rc >= 0) return;
      const why = [fromErrno(-rc, `${key}${value === null ? "" : ` ${value}`}`).message, ...fs.overlayLog(fsfd)].join(": ");
      throw mountFailed(o, why, -rc);
    };
    for (const [i, lower] of o.lowers.entries()) {
      const rc = fs.overlaySet(fsfd, "lowerdir+", lower);
      if (rc >= 0) continue;
      const logged = fs.overlayLog(fsfd);
      if (i === 0 && rc === -22 /* EINVAL */ && !required && logged.some((l) => /unknown parameter/i.test(l))) {
        log.debug("overlay: the kernel has no lowerdir+ (Linux 6.8+); using mount(2)");
        return false;
      }
      throw mountFailed(o, [fromErrno(-rc, `lowerdir+ ${lower}`).message, ...logged].join(": "), -rc);
    }
    if (o.upper !== undefined) {
      set("upperdir", o.upper);
      set("workdir", o.work!);
    }
    if (o.rootless) set("userxattr", null);
    if (o.volatile) set("volatile", null);
    const rc = fs.overlayMount(fsfd, o.target, readonly ? fs.MOUNT_RDONLY : 0);
    if (rc < 0) throw mountFailed(o, [fromErrno(-rc, "create").message, ...fs.overlayLog(fsfd)].join(": "), -rc);
    return true;
  } finally {
    fs.close(fsfd);
  }
}

/** overlayfs parses '\' escapes in its options: ':' separates lower layers, ',' options. */
function escapeOption(path: string): string {
  return path.replace(/[\\:,]/g, (c) => `\\${c}`);
}

function optionString(o: OverlayMount, lowers: string[]): string {
  const opts = [`lowerdir=${lowers.map(escapeOption).join(":")}`];
  if (o.upper !== undefined) opts.push(`upperdir=${escapeOption(o.upper)}`, `workdir=${escapeOption(o.work!)}`);
  if (o.rootless) opts.push("userxattr");
  if (o.volatile) opts.push("volatile");
  return opts.join(",");
}

/** mount(2); through short symlinks to the layers when the option string would exceed a page. */
function mountWithOptionString(o: OverlayMount, readonly: boolean): void {
  const flags = readonly ? fs.MOUNT_RDONLY : 0;
  const data = optionString(o, o.lowers);
  if (data.length <= MOUNT_DATA_LIMIT) {
    fs.mountLegacy(o.target, data, flags);
    return;
  }
  const links = mkdtempSync(join(tmpdir(), "cl-"));
  try {
    const short = o.lowers.map((lower, i) => {
      const link = join(links, i.toString(36));
      symlinkSync(lower, link);
      return link;
    });
    const shortData = optionString(o, short);
    if (shortData.length > MOUNT_DATA_LIMIT) {
      throw mountFailed(o, `${o.lowers.length} layers do not fit in one mount(2) option string`, 7 /* E2BIG */);
    }
    fs.mountLegacy(o.target, shortData, flags);
  } finally {
    rmSync(links, { recursive: true, force: true });
  }
}

/** Unmount an overlay (or any mount) at target; detach: lazily, even while it is busy. */
export function unmountOverlay(target: string, options: { detach?: boolean } = {}): void {
  fs.umount(target, options.detach === true);
}
