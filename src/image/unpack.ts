/**
 * Apply one image layer (an uncompressed tar stream) to a directory that
 * becomes one overlayfs lower layer.
 *
 * Confinement (docs/adr/0005-layer-unpack-confinement.md): entries that could
 * reach outside `dir` are REFUSED, not rewritten. An absolute name, a `..`
 * component, a hardlink target of either kind, or a parent path that crosses
 * a symlink (including one an earlier entry of the same layer created) stops
 * the unpack with UNSAFE_PATH naming the entry. Parents are opened component
 * by component with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) in
 * csrc/lib/fsops.c and the last component is created with *at() calls that
 * never follow it, so no write can land outside `dir`.
 *
 * OCI whiteouts become overlayfs ones: `.wh.NAME` a 0/0 character device
 * NAME, `.wh..wh..opq` the opaque xattr on its directory
 * (trusted.overlay.opaque, or user.overlay.opaque for a rootless store
 * mounted with userxattr).
 */
import { fchmodSync, writeSync } from "node:fs";
import { ContainrError, wrap } from "../diag/errors.ts";
import { log } from "../diag/log.ts";
import * as fs from "../native/fs.ts";
import { readTar, type TarEntry } from "./tar.ts";

export interface UnpackResult {
  /** "sha256:<hex>" of the uncompressed tar, every byte of the stream included */
  diffId: string;
  /** bytes of tar */
  size: number;
}

/** A range of ids: container ids [containerID, containerID+size) are host ids [hostID, hostID+size). */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface UnpackOptions {
  /**
   * A store used without root: device nodes are skipped (as podman does),
   * the opaque marker is user.overlay.opaque, and extended attributes the
   * kernel refuses (trusted.*) are skipped with a debug line.
   */
  rootless?: boolean;
  /** map the archive's uids/gids to host ids (a rootless store's user namespace); default: identity */
  uidMap?: IdMapping[];
  gidMap?: IdMapping[];
}

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE_WHITEOUT = ".wh..wh..opq";
/** Mode of the parent directories a layer does not list itself (as containerd and GNU tar make them). */
const IMPLICIT_DIR_MODE = 0o755;

/** Names are handled as byte strings (one char per byte, "latin1"), so any byte sequence survives. */
function bytesOf(s: string): Uint8Array {
  return Buffer.from(s, "latin1");
}

function display(s: string): string {
  return JSON.stringify(Buffer.from(s, "latin1").toString("utf8"));
}

/** Errors are raised without the entry's name; unpackLayer puts `layer entry "NAME": ` in front. */
function unsafe(why: string): ContainrError {
  return new ContainrError("UNSAFE_PATH", `${why}; refused, nothing was written outside the layer`, {
    hint: "the image is malicious or broken; do not use it",
  });
}

function malformed(why: string): ContainrError {
  return new ContainrError("INVALID_ARCHIVE", why);
}

/** The components of an entry name (or hardlink target); refuses names that are absolute or contain "..". */
function components(raw: string, what: string): string[] {
  if (raw.startsWith("/")) throw unsafe(`${what} ${display(raw)} is an absolute path`);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw unsafe(`${what} ${display(raw)} has a '..' component`);
  return parts;
}

function mapId(id: number, map: IdMapping[] | undefined, kind: "uid" | "gid"): number {
  if (!map || map.length === 0) return id;
  for (const m of map) {
    if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  }
  throw new ContainrError("PERMISSION_DENIED", `owned by ${kind} ${id}, which the id mapping does not cover`, {
    hint: "give the user more subordinate ids in /etc/subuid and /etc/subgid",
  });
}

async function writeBody(fd: number, entry: TarEntry): Promise<void> {
  for await (const chunk of entry.body()) {
    let off = 0;
    while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
  }
}

interface DeferredDir {
  path: string;
  mode: number;
  mtime: number;
  mtimeNsec: number;
}

/** Keeps the parent directory of the previous entry open: tar entries come grouped by directory. */
class Parents {
  private path: string | undefined;
  private fd = -1;

  constructor(private readonly rootfd: number) {}

  /**
   * An O_PATH fd of the directory `parts` (created as needed); owned by this
   * cache. A removal below it never makes it stale: it only ever holds the
   * directory the current entry lives in.
   */
  open(parts: string[]): number {
    const path = parts.join("/");
    if (path === this.path) return this.fd;
    this.close();
    const failure: fs.OpenDirFailure = { component: -1 };
    try {
      this.fd = fs.openDir(this.rootfd, bytesOf(path), IMPLICIT_DIR_MODE, failure);
    } catch (err) {
      const at = parts.slice(0, failure.component + 1).join("/");
      const errno = err instanceof ContainrError ? err.errno : undefined;
      if (errno === 40 /* ELOOP */) throw unsafe(`the path goes through the symbolic link ${display(at)}`);
      if (errno === 18 /* EXDEV */) throw unsafe(`the path leaves the layer at ${display(at)}`);
      if (errno === 20 /* ENOTDIR */) throw malformed(`${display(at)} is not a directory`);
      throw err;
    }
    this.path = path;
    return this.fd;
  }

  close(): void {
    if (this.fd >= 0) fs.close(this.fd);
    this.fd = -1;
    this.path = undefined;
  }
}

class LayerWriter {
  /** directories whose mode and mtime are set at the end, by path */
  private readonly deferred = new Map<string, DeferredDir>();
  readonly parents: Parents;
  private readonly opaqueKey: string;

  constructor(
    readonly rootfd: number,
    private readonly options: UnpackOptions,
  ) {
    this.parents = new Parents(rootfd);
    this.opaqueKey = options.rootless ? "user.overlay.opaque" : "trusted.overlay.opaque";
  }

  async apply(entry: TarEntry): Promise<void> {
    const raw = Buffer.from(entry.nameBytes).toString("latin1");
    const parts = components(raw, "the name");
    if (parts.length === 0) return this.applyRoot(entry);
    const base = parts[parts.length - 1]!;
    const parentParts = parts.slice(0, -1);
    if (base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(entry, raw, parentParts, base);
    const dirfd = this.parents.open(parentParts);
    const name = bytesOf(base);
    const path = parts.join("/");

    let existing = fs.fileType(dirfd, name);
    if (existing !== null && !(existing === fs.S_IFDIR && entry.type === "dir")) {
      // A later entry replaces an earlier one (tar semantics), whatever it was.
      this.remove(dirfd, name, path);
      existing = null;
    }
    const uid = mapId(entry.uid, this.options.uidMap, "uid");
    const gid = mapId(entry.gid, this.options.gidMap, "gid");

    // A regular file stays open until its metadata is set, so that its mode is set through the fd:
    // fchmod is one system call, chmod by name (without following a symlink) four.
    let fileFd = -1;
    try {
      switch (entry.type) {
        case "dir":
          if (existing === null) fs.mkdir(dirfd, name, 0o700);
          this.owner(dirfd, name, uid, gid, entry, raw);
          // Mode and mtime once the contents are in: a read-only directory must still take its entries,
          // and creating them would change the mtime.
          this.deferred.set(path, { path, mode: entry.mode, mtime: entry.mtime, mtimeNsec: entry.mtimeNsec });
          return;
        case "file":
          fileFd = fs.createFile(dirfd, name);
          await writeBody(fileFd, entry);
          break;
        case "symlink":
          fs.symlink(entry.linknameBytes, dirfd, name);
          break;
        case "hardlink":
          this.hardlink(dirfd, name, entry);
          return; // the inode already has its owner, mode, xattrs and mtime
        case "char":
        case "block":
          if (this.options.rootless) {
            log.debug(`skipping device node ${display(raw)}: a rootless store cannot create devices`);
            return;
          }
          fs.mknod(dirfd, name, (entry.type === "char" ? fs.S_IFCHR : fs.S_IFBLK) | entry.mode, entry.devmajor, entry.devminor);
          break;
        case "fifo":
          fs.mknod(dirfd, name, fs.S_IFIFO | entry.mode, 0, 0);
          break;
      }
      this.owner(dirfd, name, uid, gid, entry, raw);
      // chown clears setuid/setgid, so the mode comes after it; the mtime comes last.
      if (fileFd >= 0) fchmodSync(fileFd, entry.mode);
      else fs.chmod(dirfd, name, entry.mode);
      fs.setMtime(dirfd, name, entry.mtime, entry.mtimeNsec);
    } finally {
      if (fileFd >= 0) fs.close(fileFd);
    }
  }

  /** Ownership, then xattrs (chown would clear security.capability). */
  private owner(dirfd: number, name: Uint8Array, uid: number, gid: number, entry: TarEntry, raw: string): void {
    fs.chown(dirfd, name, uid, gid);
    for (const [key, value] of entry.xattrs) {
      try {
        fs.setXattr(dirfd, name, key, value);
      } catch (err) {
        const errno = err instanceof ContainrError ? err.errno : undefined;
        // 95 EOPNOTSUPP: the filesystem has no such namespace; 1 EPERM: trusted.* without root.
        if (errno === 95 || (this.options.rootless && errno === 1)) {
          log.debug(`skipping xattr ${key} of ${display(raw)}: ${(err as Error).message}`);
          continue;
        }
        throw err;
      }
    }
  }

  /** Remove dirfd/name (path from the root) and forget the directories below it. */
  private remove(dirfd: number, name: Uint8Array, path: string): void {
    fs.removeAll(dirfd, name);
    for (const key of this.deferred.keys()) {
      if (key === path || key.startsWith(`${path}/`)) this.deferred.delete(key);
    }
  }

  /** The root entry ("./"): its metadata applies to the layer directory itself. */
  private applyRoot(entry: TarEntry): void {
    if (entry.type !== "dir") throw malformed("the entry names the layer root but is not a directory");
    const uid = mapId(entry.uid, this.options.uidMap, "uid");
    const gid = mapId(entry.gid, this.options.gidMap, "gid");
    this.owner(this.rootfd, new Uint8Array(0), uid, gid, entry, ".");
    this.deferred.set("", { path: "", mode: entry.mode, mtime: entry.mtime, mtimeNsec: entry.mtimeNsec });
  }

  private whiteout(entry: TarEntry, raw: string, parentParts: string[], base: string): void {
    const dirfd = this.parents.open(parentParts);
    if (base === OPAQUE_WHITEOUT) {
      fs.setXattr(dirfd, "", this.opaqueKey, bytesOf("y"));
      return;
    }
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) {
      log.debug(`skipping AUFS metadata entry ${display(raw)}`);
      return;
    }
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden === "." || hidden === "..") throw unsafe(`the whiteout names ${display(hidden)}`);
    if (hidden === "") throw malformed("the whiteout names nothing");
    const name = bytesOf(hidden);
    this.remove(dirfd, name, [...parentParts, hidden].join("/"));
    fs.mknod(dirfd, name, fs.S_IFCHR, 0, 0);
    fs.chown(dirfd, name, mapId(entry.uid, this.options.uidMap, "uid"), mapId(entry.gid, this.options.gidMap, "gid"));
  }

  private hardlink(dirfd: number, name: Uint8Array, entry: TarEntry): void {
    const target = Buffer.from(entry.linknameBytes).toString("latin1");
    const targetParts = components(target, "the hardlink target");
    if (targetParts.length === 0) throw unsafe("the hardlink points at the layer root");
    // Open the target's directory without creating anything: it must be an earlier entry of this layer.
    const failure: fs.OpenDirFailure = { component: -1 };
    let targetDir: number;
    try {
      targetDir = fs.openDir(this.rootfd, bytesOf(targetParts.slice(0, -1).join("/")), null, failure);
    } catch (err) {
      const errno = err instanceof ContainrError ? err.errno : undefined;
      if (errno === 40 || errno === 18) throw unsafe(`the hardlink target ${display(target)} goes through a symbolic link`);
      throw new ContainrError("INVALID_ARCHIVE", `the hardlink target ${display(target)} is not in the layer`, { cause: err });
    }
    try {
      const targetName = bytesOf(targetParts[targetParts.length - 1]!);
      const type = fs.fileType(targetDir, targetName);
      if (type === null) throw malformed(`the hardlink target ${display(target)} is not in the layer`);
      if (type === fs.S_IFDIR) throw malformed(`the hardlink target ${display(target)} is a directory`);
      fs.link(targetDir, targetName, dirfd, name);
    } finally {
      fs.close(targetDir);
    }
  }

  /** Modes and mtimes of directories, after everything inside them exists. */
  finishDirectories(): void {
    // Deepest first (a child's path is longer than its parent's), so a directory made read-only
    // does not stop the ones below it.
    for (const d of [...this.deferred.values()].sort((a, b) => b.path.length - a.path.length)) {
      try {
        const fd = this.parents.open(d.path === "" ? [] : d.path.split("/"));
        fs.chmod(fd, "", d.mode);
        fs.setMtime(fd, "", d.mtime, d.mtimeNsec);
      } catch (err) {
        throw wrap(err, `layer directory ${display(d.path || ".")}`);
      }
    }
  }
}

/**
 * Read an uncompressed layer tar from `tar` and apply it to `dir` (which
 * exists and is empty or holds only this layer). Returns the diffID (sha256
 * of every byte of the stream) and the tar's size. Throws UNSAFE_PATH for an
 * entry that would escape `dir`, INVALID_ARCHIVE for a corrupt or truncated
 * tar; `dir` is then partly written and should be removed by the caller.
 *
 * `tar` is read in order and nothing of a chunk (nor a view of it) is kept
 * once the next one is asked for, so its producer may free each chunk then
 * (ingestLayer does, tests/integration/unpack-chunks.test.ts checks it).
 */
export async function unpackLayer(tar: ReadableStream<Uint8Array>, dir: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  const hasher = new Bun.CryptoHasher("sha256");
  let size = 0;
  const rootfd = fs.openRoot(dir);
  const writer = new LayerWriter(rootfd, options);
  try {
    const entries = readTar(tar, {
      observe: (chunk) => {
        hasher.update(chunk);
        size += chunk.length;
      },
    });
    for await (const entry of entries) {
      try {
        await writer.apply(entry);
      } catch (err) {
        throw wrap(err, `layer entry ${display(Buffer.from(entry.nameBytes).toString("latin1"))}`);
      }
    }
    writer.finishDirectories();
  } finally {
    writer.parents.close();
    fs.close(rootfd);
  }
  return { diffId: `sha256:${hasher.digest("hex")}`, size };
}
