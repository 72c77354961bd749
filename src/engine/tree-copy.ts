/**
 * Copying files between a container's root and a host directory (volume
 * copy-up, `cp`) without ever following a symlink the container planted.
 *
 * Every directory is pinned by an O_PATH fd and reached as
 * /proc/self/fd/N: the kernel resolves that to exactly the inode opened,
 * so only the last component of a path is looked up by name, and it is
 * never followed (O_NOFOLLOW opens, lstat, mkdir, symlink, *at() calls).
 * A directory the container swaps for a symlink while we copy is seen as a
 * symlink (and copied as one), not walked through. Metadata is set through
 * fds (fchown, fchmod, futimes), never through a path.
 *
 * Hard links are copied as separate files and extended attributes are not
 * copied (Docker's cp does neither; its copy-up keeps hard links).
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  symlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { ContainrError } from "../diag/errors.ts";
import { close, mknod, openInRoot, removeAll } from "../native/fs.ts";

/** A directory held by an O_PATH fd; its children are named below it. */
export class PinnedDir {
  constructor(readonly fd: number) {}

  get path(): string {
    return `/proc/self/fd/${this.fd}`;
  }

  child(name: string): string {
    return `${this.path}/${name}`;
  }

  /** Pin the child directory `name` (not followed); undefined when it is not a directory. */
  openChild(name: string): PinnedDir | undefined {
    const fd = openInRoot(this.fd, name, true);
    if (!fstatSync(fd).isDirectory()) {
      close(fd);
      return undefined;
    }
    return new PinnedDir(fd);
  }

  close(): void {
    close(this.fd);
  }
}

export interface Ownership {
  uid: number;
  gid: number;
}

export interface CopyOptions {
  /** keep each file's uid/gid (cp -a, copy-up); otherwise every file gets `owner` */
  preserveOwner: boolean;
  owner: Ownership;
}

const CHUNK = 1 << 20;

function lstatOrUndefined(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

/** Remove dst/name unless it is what we need (a directory stays a directory). */
function clearForType(dst: PinnedDir, name: string, wantDirectory: boolean): void {
  const existing = lstatOrUndefined(dst.child(name));
  if (existing === undefined) return;
  if (wantDirectory && existing.isDirectory()) return;
  removeAll(dst.fd, name);
}

function ownerOf(st: Stats, options: CopyOptions): Ownership {
  return options.preserveOwner ? { uid: st.uid, gid: st.gid } : options.owner;
}

/** chown, chmod (after chown, which clears setuid bits), mtime: on an fd, never a path. */
function applyMetadata(fd: number, st: Stats, options: CopyOptions): void {
  const owner = ownerOf(st, options);
  fchownSync(fd, owner.uid, owner.gid);
  fchmodSync(fd, st.mode & 0o7777);
  futimesSync(fd, st.atime, st.mtime);
}

/** A readable fd of a pinned O_PATH fd's inode, for fchown/fchmod. */
function reopen(dir: PinnedDir): number {
  return openSync(dir.path, constants.O_RDONLY | constants.O_DIRECTORY);
}

/** Write one regular file dst/name from `chunks`, replacing whatever was there (never following it). */
export function writeFile(dst: PinnedDir, name: string, st: Stats, options: CopyOptions, chunks: (write: (data: Uint8Array) => void) => void): void {
  clearForType(dst, name, false);
  const fd = openSync(dst.child(name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    chunks((data) => {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off);
    });
    applyMetadata(fd, st, options);
  } finally {
    closeSync(fd);
  }
}

/**
 * Copy src/srcName to dst/dstName: a directory with everything below it, a
 * file, a symlink (as a symlink), a device node or fifo. Sockets are skipped,
 * as tar does. Returns false when srcName does not exist.
 */
export function copyEntry(src: PinnedDir, srcName: string, dst: PinnedDir, dstName: string, options: CopyOptions): boolean {
  const st = lstatOrUndefined(src.child(srcName));
  if (st === undefined) return false;
  if (st.isDirectory()) {
    copyDirectory(src, srcName, dst, dstName, st, options);
  } else if (st.isFile()) {
    const input = openSync(src.child(srcName), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const current = fstatSync(input);
      if (!current.isFile()) throw new ContainrError("UNSAFE_PATH", `${srcName} changed while it was copied`);
      const buf = new Uint8Array(CHUNK);
      writeFile(dst, dstName, current, options, (write) => {
        for (;;) {
          const n = readSync(input, buf, 0, buf.length, null);
          if (n <= 0) break;
          write(buf.subarray(0, n));
        }
      });
    } finally {
      closeSync(input);
    }
  } else if (st.isSymbolicLink()) {
    const target = readlinkSync(src.child(srcName));
    clearForType(dst, dstName, false);
    symlinkSync(target, dst.child(dstName));
    const owner = ownerOf(st, options);
    lchownSync(dst.child(dstName), owner.uid, owner.gid);
    lutimesSync(dst.child(dstName), st.atime, st.mtime);
  } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
    clearForType(dst, dstName, false);
    const rdev = BigInt(st.rdev);
    const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
    const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
    mknod(dst.fd, dstName, st.mode, major, minor);
    const fd = openInRoot(dst.fd, dstName, true);
    try {
      const path = `/proc/self/fd/${fd}`;
      const owner = ownerOf(st, options);
      lchownSync(path, owner.uid, owner.gid);
    } finally {
      close(fd);
    }
  }
  return true;
}

/** Make dst/name a directory (keeping one that is there) and pin it. */
export function ensureDirectory(dst: PinnedDir, name: string): PinnedDir {
  clearForType(dst, name, true);
  if (lstatOrUndefined(dst.child(name)) === undefined) mkdirSync(dst.child(name), 0o700);
  const pinned = dst.openChild(name);
  if (pinned === undefined) throw new ContainrError("UNSAFE_PATH", `${name} changed while it was copied`);
  return pinned;
}

function copyDirectory(src: PinnedDir, srcName: string, dst: PinnedDir, dstName: string, st: Stats, options: CopyOptions): void {
  const from = src.openChild(srcName);
  if (from === undefined) throw new ContainrError("UNSAFE_PATH", `${srcName} changed while it was copied`);
  try {
    const to = ensureDirectory(dst, dstName);
    try {
      copyContents(from, to, options);
      const fd = reopen(to);
      try {
        applyMetadata(fd, st, options);
      } finally {
        closeSync(fd);
      }
    } finally {
      to.close();
    }
  } finally {
    from.close();
  }
}

/** Copy everything inside `from` into `to` (not the directory itself). */
export function copyContents(from: PinnedDir, to: PinnedDir, options: CopyOptions): void {
  for (const name of readdirSync(from.path).sort()) copyEntry(from, name, to, name, options);
}

/** Give `to` the owner, mode and mtime of `from` (copy-up gives the volume root the image directory's). */
export function copyDirectoryMetadata(from: PinnedDir, to: PinnedDir): void {
  const st = fstatSync(from.fd);
  const fd = reopen(to);
  try {
    applyMetadata(fd, st, { preserveOwner: true, owner: { uid: 0, gid: 0 } });
  } finally {
    closeSync(fd);
  }
}
