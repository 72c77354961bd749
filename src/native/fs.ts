/**
 * Typed wrappers over csrc/lib/fsops.c: confined *at() operations for layer
 * unpacking, extended attributes, and overlay mounts. Every function throws a
 * ContainrError built from the errno (its `errno` field is set, so callers
 * can test for ENOENT or ELOOP) with `what` as the context.
 *
 * Paths are `string` (UTF-8) or raw bytes: names inside image layers are
 * bytes and need not be valid UTF-8.
 */
import { dlopen, FFIType } from "bun:ffi";
import { fromErrno, type ErrorCode } from "../diag/errors.ts";
import { libraryPath } from "./library.ts";

const { i32, i64, i64_fast, ptr, u64 } = FFIType;

let lib: ReturnType<typeof load> | undefined;

function load() {
  return dlopen(libraryPath(), {
    containr_fs_open_root: { args: [ptr], returns: i32 },
    containr_fs_open_dir: { args: [i32, ptr, i32, ptr], returns: i32 },
    containr_fs_close: { args: [i32], returns: i32 },
    containr_fs_file_type: { args: [i32, ptr], returns: i32 },
    containr_fs_create_file: { args: [i32, ptr], returns: i32 },
    containr_fs_mkdir: { args: [i32, ptr, i32], returns: i32 },
    containr_fs_mknod: { args: [i32, ptr, i32, i32, i32], returns: i32 },
    containr_fs_symlink: { args: [ptr, i32, ptr], returns: i32 },
    containr_fs_link: { args: [i32, ptr, i32, ptr], returns: i32 },
    containr_fs_remove: { args: [i32, ptr], returns: i32 },
    containr_fs_chown: { args: [i32, ptr, i32, i32], returns: i32 },
    containr_fs_chmod: { args: [i32, ptr, i32], returns: i32 },
    containr_fs_utimes: { args: [i32, ptr, i64, i64], returns: i32 },
    containr_fs_setxattr: { args: [i32, ptr, ptr, ptr, u64], returns: i32 },
    containr_fs_listxattr: { args: [ptr, ptr, u64], returns: i64_fast },
    containr_fs_getxattr: { args: [ptr, ptr, ptr, u64], returns: i64_fast },
    containr_fs_overlay_open: { args: [], returns: i32 },
    containr_fs_overlay_set: { args: [i32, ptr, ptr], returns: i32 },
    containr_fs_overlay_mount: { args: [i32, ptr, i32], returns: i32 },
    containr_fs_overlay_log: { args: [i32, ptr, u64], returns: i64_fast },
    containr_fs_mount_legacy: { args: [ptr, ptr, i32], returns: i32 },
    containr_fs_bind_readonly: { args: [ptr, ptr], returns: i32 },
    containr_fs_umount: { args: [ptr, i32], returns: i32 },
    containr_efs_open_in_root: { args: [i32, ptr, i32], returns: i32 },
    containr_efs_mount: { args: [ptr, ptr, ptr, i64, ptr], returns: i32 },
  }).symbols;
}

function sym() {
  lib ??= load();
  return lib;
}

export type PathArg = string | Uint8Array;

const EMPTY = new Uint8Array(1);

/** A NUL-terminated copy of a path for C. */
function cstr(p: PathArg): Uint8Array {
  if (typeof p === "string") return p === "" ? EMPTY : Buffer.from(`${p}\0`, "utf8");
  const out = new Uint8Array(p.length + 1);
  out.set(p);
  return out;
}

/** A NUL-terminated copy of an optional buffer argument, or null. */
function optional(p: PathArg | null): Uint8Array | null {
  return p === null ? null : cstr(p);
}

function check(result: number | bigint, what: () => string, code?: ErrorCode): number {
  const rc = Number(result);
  if (rc < 0) throw fromErrno(-rc, what(), code);
  return rc;
}

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

/** An O_PATH fd on a directory (the root every later call is confined to). */
export function openRoot(path: string): number {
  return check(sym().containr_fs_open_root(cstr(path)), () => `open ${path}`);
}

export interface OpenDirFailure {
  /** index of the path component that failed (-1 when the whole walk succeeded) */
  component: number;
}

/**
 * Open `relpath` ("a/b", cleaned, "" for the root) below rootfd as an O_PATH
 * directory fd, creating missing components with createMode (null: never
 * create). No component may be a symlink (ELOOP) or a non-directory (ENOTDIR).
 */
export function openDir(rootfd: number, relpath: PathArg, createMode: number | null, failure?: OpenDirFailure): number {
  const index = new Int32Array(1).fill(-1);
  const rc = sym().containr_fs_open_dir(rootfd, cstr(relpath), createMode ?? -1, index);
  if (failure) failure.component = index[0]!;
  return check(rc, () => "open directory");
}

export function close(fd: number): void {
  check(sym().containr_fs_close(fd), () => `close fd ${fd}`);
}

/** S_IFMT bits of dirfd/name (not followed), or null when it does not exist. */
export function fileType(dirfd: number, name: PathArg): number | null {
  const rc = sym().containr_fs_file_type(dirfd, cstr(name));
  if (rc === -2) return null;
  return check(rc, () => "stat");
}

/** Create a new regular file (mode 0600, never following or reusing anything); returns a writable fd. */
export function createFile(dirfd: number, name: PathArg): number {
  return check(sym().containr_fs_create_file(dirfd, cstr(name)), () => "create file");
}

export function mkdir(dirfd: number, name: PathArg, mode: number): void {
  check(sym().containr_fs_mkdir(dirfd, cstr(name), mode), () => "mkdir");
}

/** mknod; `mode` carries the file type (S_IFCHR, S_IFBLK, S_IFIFO). */
export function mknod(dirfd: number, name: PathArg, mode: number, major: number, minor: number): void {
  check(sym().containr_fs_mknod(dirfd, cstr(name), mode, major, minor), () => "mknod");
}

export function symlink(target: PathArg, dirfd: number, name: PathArg): void {
  check(sym().containr_fs_symlink(cstr(target), dirfd, cstr(name)), () => "symlink");
}

export function link(olddirfd: number, oldname: PathArg, newdirfd: number, newname: PathArg): void {
  check(sym().containr_fs_link(olddirfd, cstr(oldname), newdirfd, cstr(newname)), () => "link");
}

/** Remove dirfd/name recursively without following symlinks; absent is fine. */
export function removeAll(dirfd: number, name: PathArg): void {
  check(sym().containr_fs_remove(dirfd, cstr(name)), () => "remove");
}

/** lchown; name "" is the directory itself. */
export function chown(dirfd: number, name: PathArg, uid: number, gid: number): void {
  check(sym().containr_fs_chown(dirfd, cstr(name), uid, gid), () => `chown ${uid}:${gid}`);
}

/** chmod without following (symlinks are left alone); keeps setuid/setgid/sticky bits. */
export function chmod(dirfd: number, name: PathArg, mode: number): void {
  check(sym().containr_fs_chmod(dirfd, cstr(name), mode), () => `chmod ${(mode & 0o7777).toString(8)}`);
}

/** Set the modification time without following a symlink. */
export function setMtime(dirfd: number, name: PathArg, sec: number, nsec: number): void {
  check(sym().containr_fs_utimes(dirfd, cstr(name), sec, nsec), () => "set mtime");
}

export function setXattr(dirfd: number, name: PathArg, key: string, value: Uint8Array): void {
  // A zero-length Uint8Array would pass a NULL pointer; the kernel accepts (NULL, 0) for an empty value.
  check(sym().containr_fs_setxattr(dirfd, cstr(name), cstr(key), value.length ? value : null, value.length), () => `set xattr ${key}`);
}

/** The extended attributes of path itself (not followed), by name. */
export function readXattrs(path: PathArg): Map<string, Uint8Array> {
  const p = cstr(path);
  const out = new Map<string, Uint8Array>();
  let size = check(sym().containr_fs_listxattr(p, null, 0), () => `list xattrs of ${show(path)}`);
  if (size === 0) return out;
  const names = new Uint8Array(size);
  size = check(sym().containr_fs_listxattr(p, names, size), () => `list xattrs of ${show(path)}`);
  let start = 0;
  for (let i = 0; i < size; i++) {
    if (names[i] !== 0) continue;
    const key = Buffer.from(names.subarray(start, i)).toString("utf8");
    start = i + 1;
    const k = cstr(key);
    const len = check(sym().containr_fs_getxattr(p, k, null, 0), () => `get xattr ${key} of ${show(path)}`);
    const value = new Uint8Array(len);
    const got = len ? check(sym().containr_fs_getxattr(p, k, value, len), () => `get xattr ${key} of ${show(path)}`) : 0;
    out.set(key, value.subarray(0, got));
  }
  return out;
}

function show(p: PathArg): string {
  return typeof p === "string" ? p : Buffer.from(p).toString("utf8");
}

// --- overlay -------------------------------------------------------------------------------------------

export const MOUNT_RDONLY = 1;

/** A new overlay filesystem context (fsopen); null when the kernel lacks the new mount API. */
export function overlayOpen(): number | null {
  const rc = sym().containr_fs_overlay_open();
  if (rc === -38 /* ENOSYS */) return null;
  return check(rc, () => "fsopen overlay", "MOUNT_FAILED");
}

/** fsconfig: a string option, or a flag when value is null. Returns the negative errno instead of throwing. */
export function overlaySet(fsfd: number, key: string, value: PathArg | null): number {
  return sym().containr_fs_overlay_set(fsfd, cstr(key), optional(value));
}

/** Create the superblock and move the mount to target. Returns the negative errno instead of throwing. */
export function overlayMount(fsfd: number, target: string, flags: number): number {
  return sym().containr_fs_overlay_mount(fsfd, cstr(target), flags);
}

/** The messages the kernel logged on an fs context (why fsconfig failed), oldest first. */
export function overlayLog(fsfd: number): string[] {
  const buf = new Uint8Array(1024);
  const lines: string[] = [];
  for (;;) {
    const n = Number(sym().containr_fs_overlay_log(fsfd, buf, buf.length));
    if (n <= 0) return lines;
    lines.push(Buffer.from(buf.subarray(0, n)).toString("utf8").trim());
  }
}

/** mount(2) of overlay with an option string (kernels without fsopen). */
export function mountLegacy(target: string, data: string, flags: number): void {
  check(sym().containr_fs_mount_legacy(cstr(target), cstr(data), flags), () => `mount overlay on ${target}`, "MOUNT_FAILED");
}

/** A read-only bind mount of source on target. */
export function bindReadonly(source: string, target: string): void {
  check(sym().containr_fs_bind_readonly(cstr(source), cstr(target)), () => `bind mount ${source} on ${target} read-only`, "MOUNT_FAILED");
}

/** umount2 with UMOUNT_NOFOLLOW (and MNT_DETACH when detach). */
export function umount(target: string, detach: boolean): void {
  check(sym().containr_fs_umount(cstr(target), detach ? 1 : 0), () => `unmount ${target}`, "MOUNT_FAILED");
}

// --- the engine's volumes and cp (csrc/lib/enginefs.c) ---------------------------------------------------

/**
 * An O_PATH fd on `path` below rootfd, resolved as the container sees it
 * (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): "..", absolute paths and
 * absolute symlinks stay below rootfd. With nofollow, a symlink as the last
 * component is opened itself. The error's errno is ENOENT for a missing path.
 */
export function openInRoot(rootfd: number, path: string, nofollow: boolean): number {
  return check(sym().containr_efs_open_in_root(rootfd, cstr(path), nofollow ? 1 : 0), () => `resolve ${path}`);
}

/** mount(2) with MS_* flags and filesystem data (null for none). */
export function mount(source: string, target: string, fstype: string, flags: number, data: string | null): void {
  check(sym().containr_efs_mount(cstr(source), cstr(target), cstr(fstype), flags, optional(data)), () => `mount ${source} on ${target}`, "MOUNT_FAILED");
}
