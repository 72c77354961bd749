import { dlopen, FFIType, read, type Pointer } from "bun:ffi";
import { closeSync, existsSync, lstatSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, isAbsolute, join } from "node:path";
import { ContainrError, fromErrno } from "../diag/errors.ts";
import { replaceFile, writeAll } from "./replace-file.ts";

/**
 * Files embedded in the compiled executable live under /$bunfs/, which only
 * Bun can read. dlopen and execve need real files: Bun's own extraction goes
 * to $TMPDIR and is never cleaned up, so we write them ourselves, once, to a
 * private directory owned by the caller (0700), named by Bun's content hash
 * (libcontainr-<hash>.so), and reuse them on every later start.
 *
 * When that directory is on a noexec mount (Ubuntu mounts /run noexec,
 * hardened hosts /tmp), nothing is written there: the bytes go into a sealed
 * memfd instead, as runc does with its own binary, and the path returned is
 * /proc/self/fd/N, which dlopen and execve (in this process or in a child
 * spawned by it) accept. `realFile` uses (a file bind-mounted into
 * containers) try a persistent directory instead, which must be exec-able.
 *
 * Outside the compiled binary (bun test, bun run) the path is the real file
 * under build/ and is used as it is.
 */
export function materialize(embeddedPath: string, mode: number, options: { realFile?: boolean } = {}): string {
  if (!embeddedPath.startsWith("/$bunfs/")) return embeddedPath;
  const name = basename(embeddedPath);
  const candidates = options.realFile ? [runtimeBase(), persistentBase()] : [runtimeBase()];
  for (const base of candidates) {
    const dir = privateDir(base);
    const target = join(dir, name);
    // the common path, on every command start: written out by an earlier one
    if (existsSync(target)) return target;
    // never written to a noexec directory, so that this check runs only until a file is there
    if (!isNoexec(dir)) return writeOut(embeddedPath, target, mode);
  }
  if (options.realFile) {
    throw new ContainrError("NATIVE_UNAVAILABLE", `no exec-able directory to write ${name} to: ${candidates.map((b) => join(b, "lib")).join(" and ")} are on noexec mounts`, {
      hint: `mount one of them without noexec (or point CONTAINR_RUNTIME_DIR to an exec-able directory)`,
    });
  }
  return sealedMemfd(embeddedPath, name);
}

function writeOut(embeddedPath: string, target: string, mode: number): string {
  replaceFile(target, readFileSync(embeddedPath), mode);
  return target;
}

/**
 * $CONTAINR_RUNTIME_DIR (absolute: nothing is ever loaded from the current
 * directory) if set; /run/containr for root; $XDG_RUNTIME_DIR/containr (or
 * /tmp/containr-UID) otherwise.
 */
function runtimeBase(): string {
  const override = process.env.CONTAINR_RUNTIME_DIR;
  if (override) {
    if (!isAbsolute(override)) {
      throw new ContainrError("NATIVE_UNAVAILABLE", `CONTAINR_RUNTIME_DIR must be an absolute path, not ${override}`, {
        hint: "set CONTAINR_RUNTIME_DIR to an absolute directory, or unset it",
      });
    }
    return override;
  }
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return "/run/containr";
  return process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, "containr") : `/tmp/containr-${uid}`;
}

/** /var/lib/containr for root; $XDG_DATA_HOME/containr (~/.local/share/containr) otherwise. */
function persistentBase(): string {
  if ((process.getuid?.() ?? 0) === 0) return "/var/lib/containr";
  return join(process.env.XDG_DATA_HOME || join(homedir(), ".local/share"), "containr");
}

/** base/lib, created 0700 if missing, and checked to be owned by the caller and writable by no one else. */
function privateDir(base: string): string {
  const uid = process.getuid?.() ?? 0;
  const dir = join(base, "lib");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const d of [base, dir]) {
    const st = lstatSync(d);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
      throw new ContainrError("NATIVE_UNAVAILABLE", `${d} is not a private directory owned by uid ${uid}`, {
        hint: `remove ${d} and run the command again`,
      });
    }
  }
  return dir;
}

// Only reached when a file is not written out yet (or cannot be): libc
// directly, since libcontainr.so itself may be what is being written out.
let libc: ReturnType<typeof loadLibc> | undefined;

function loadLibc() {
  const { i32, u32, ptr } = FFIType;
  return dlopen("libc.so.6", {
    statvfs: { args: [ptr, ptr], returns: i32 },
    memfd_create: { args: [ptr, u32], returns: i32 },
    fcntl: { args: [i32, i32, i32], returns: i32 },
    __errno_location: { args: [], returns: ptr },
  }).symbols;
}

function c() {
  libc ??= loadLibc();
  return libc;
}

function errno(): number {
  return read.i32(c().__errno_location() as Pointer, 0);
}

function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}

/** struct statvfs (64-bit glibc): 112 bytes, f_flag at offset 72; ST_NOEXEC = 8. */
const STATVFS_SIZE = 112;
const STATVFS_FLAG_OFFSET = 72;
const ST_NOEXEC = 8;

function isNoexec(dir: string): boolean {
  const buf = new BigUint64Array(STATVFS_SIZE / 8);
  if (c().statvfs(cstr(dir), buf) !== 0) throw fromErrno(errno(), `statvfs ${dir}`, "NATIVE_UNAVAILABLE");
  return (buf[STATVFS_FLAG_OFFSET / 8]! & BigInt(ST_NOEXEC)) !== 0n;
}

const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033;
const F_SEAL_SEAL = 1;
const F_SEAL_SHRINK = 2;
const F_SEAL_GROW = 4;
const F_SEAL_WRITE = 8;

/**
 * The embedded bytes in a memfd sealed against any change, open (CLOEXEC)
 * for the life of this process. /proc/self/fd/N stays valid in a child
 * until its execve, which resolves the path before it closes CLOEXEC fds.
 */
function sealedMemfd(embeddedPath: string, name: string): string {
  const fd = c().memfd_create(cstr(`containr:${name}`), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw fromErrno(errno(), `memfd_create for ${name}`, "NATIVE_UNAVAILABLE");
  try {
    writeAll(fd, readFileSync(embeddedPath));
    if (c().fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) !== 0) {
      throw fromErrno(errno(), `seal the memfd holding ${name}`, "NATIVE_UNAVAILABLE");
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return `/proc/self/fd/${fd}`;
}
