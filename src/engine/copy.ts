/**
 * `cp` between a container and the host, resolved inside the container's
 * root: a running container's through /proc/PID/root (its own mount
 * namespace, volumes included), a stopped one's through its root
 * filesystem (mounted for the copy when it is not), with its volumes and
 * bind mounts attached for the length of the copy, as Docker mounts them:
 * each on its mount point resolved inside the root, read-only where the
 * container has it read-only. Paths in the container are opened with
 * openat2 RESOLVE_IN_ROOT, so "..", absolute paths and absolute symlinks
 * stay inside; the files are copied by tree-copy.ts through pinned fds.
 *
 * A destination whose path goes through a relative symlink that climbs out
 * of the root ("../../../tmp") is refused (UNSAFE_PATH) rather than
 * clamped: whoever planted it meant the host. A copy into a read-only
 * volume or bind mount is refused with Docker's error.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, readlinkSync, readSync, rmSync, statSync } from "node:fs";
import { basename, dirname, posix } from "node:path";
import { ContainrError, toContainrError } from "../diag/errors.ts";
import { log } from "../diag/log.ts";
import { TarWriter } from "../image/tar.ts";
import { attachBind, detachBind } from "../native/bind-mount.ts";
import { close, openInRoot, openRoot } from "../native/fs.ts";
import { observe } from "./container-state.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import type { MountPoint } from "./mounts.ts";
import type { ContainerRecord } from "./records.ts";
import { ensureRootfs } from "./start.ts";
import { unmountRootfs } from "./teardown.ts";
import { copyContents, copyEntry, ensureDirectory, PinnedDir, type CopyOptions } from "./tree-copy.ts";
import { withVolumes, type VolumeStore } from "./volumes.ts";

const ENOENT = 2;
const MAX_SYMLINKS = 40;

export interface CpOptions {
  /** -a: keep uid/gid; otherwise files belong to the caller */
  archive: boolean;
  /** -L: follow a symlink given as the source */
  followLink: boolean;
}

function copyOptions(options: CpOptions): CopyOptions {
  return { preserveOwner: options.archive, owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } };
}

function notFound(path: string, ref: string): ContainrError {
  return new ContainrError("PATH_NOT_FOUND", `Could not find the file ${path} in container ${ref}`, { hint: "check the path, e.g. with `containr exec CONTAINER ls`" });
}

/**
 * The container's root on the host for the length of fn; a stopped
 * container's volumes and bind mounts are attached in it meanwhile, and
 * detached (last first) however fn ends.
 */
async function withContainerRoot<T>(ctx: EngineContext, record: ContainerRecord, fn: (rootfd: number) => Promise<T>): Promise<T> {
  const { state } = observe(ctx, record);
  if (state.Running && state.Pid > 0) {
    const rootfd = openRoot(`/proc/${state.Pid}/root`);
    try {
      return await fn(rootfd);
    } finally {
      close(rootfd);
    }
  }
  const paths = containerPaths(ctx, record.id);
  const mountedHere = !isMounted(paths.rootfs);
  const attached: AttachedMount[] = [];
  let rootfd: number | undefined;
  let failed = false;
  try {
    ensureRootfs(ctx, record);
    rootfd = openRoot(paths.rootfs);
    attachMounts(ctx, record, rootfd, attached);
    return await fn(rootfd);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    // every mount goes, even after a failed one; the copy's own error, if any, is the one reported
    let firstError: unknown;
    for (const mount of attached.reverse()) {
      try {
        detachBind(mount.fd, mount.destination);
      } catch (err) {
        if (failed) log.warn(`cp: ${toContainrError(err).message}`);
        else firstError ??= err;
      }
    }
    if (rootfd !== undefined) close(rootfd);
    if (mountedHere) unmountRootfs(ctx, record.id);
    if (firstError !== undefined && !failed) throw firstError;
  }
}

interface AttachedMount {
  /** the mount's fd (bind-mount.ts) */
  fd: number;
  destination: string;
}

/** Parents first: a mount inside another volume goes on top of it, as the runtime orders them. */
const depth = (p: MountPoint) => posix.normalize(p.Destination).split("/").filter(Boolean).length;

/**
 * Attach the record's volumes and bind mounts under the stopped
 * container's root (tmpfs mounts have no content while it is stopped),
 * pushing each onto `attached` as soon as it is mounted, so that a failure
 * half-way leaves nothing the caller does not detach.
 */
function attachMounts(ctx: EngineContext, record: ContainerRecord, rootfd: number, attached: AttachedMount[]): void {
  const points = (record.mounts as unknown as MountPoint[]).filter((p) => p.Type === "bind" || p.Type === "volume").sort((a, b) => depth(a) - depth(b));
  if (points.length === 0) return;
  const sources = points.some((p) => p.Type === "volume")
    ? withVolumes(ctx.dataRoot, (volumes) => points.map((p) => (p.Type === "volume" ? volumeSource(volumes, p) : p.Source)))
    : points.map((p) => p.Source);
  points.forEach((point, i) => {
    const source = sources[i] as string;
    const st = statSync(source, { throwIfNoEntry: false });
    if (st === undefined) {
      throw new ContainrError("PATH_NOT_FOUND", `cannot mount ${source} on ${point.Destination} for the copy: bind source path does not exist`, {
        hint: `create ${source} again, or remove the container`,
      });
    }
    const targetfd = mountPointIn(rootfd, point.Destination, st.isDirectory());
    try {
      attached.push({ fd: attachBind(source, targetfd, !point.RW, point.Destination), destination: point.Destination });
    } finally {
      close(targetfd);
    }
  });
}

/** A volume's _data, with its driver's options mounted on it (a tmpfs or bind volume), as a start would. */
function volumeSource(volumes: VolumeStore, point: MountPoint): string {
  const name = point.Name as string;
  volumes.ensureMounted(volumes.get(name));
  return volumes.mountpoint(name);
}

/**
 * An O_PATH fd on the mount point `destination` inside the root, resolved as
 * the container sees it; missing directories (and, for a file's bind, the
 * file) are created inside the root, 0755, as the runtime does at start.
 */
function mountPointIn(rootfd: number, destination: string, directory: boolean): number {
  const parts = resolveInContainer(rootfd, destination, false, MOUNT_REFUSAL).split("/").filter(Boolean);
  let fd = openInRoot(rootfd, "/", false);
  try {
    for (let i = 0; i < parts.length; i++) {
      const path = `/${parts.slice(0, i + 1).join("/")}`;
      let next: number;
      try {
        next = openInRoot(rootfd, path, false);
      } catch (err) {
        if (toContainrError(err).errno !== ENOENT) throw err;
        const at = `/proc/self/fd/${fd}/${parts[i]}`;
        if (i === parts.length - 1 && !directory) closeSync(openSync(at, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o755));
        else mkdirSync(at, 0o755);
        next = openInRoot(rootfd, path, false);
      }
      close(fd);
      fd = next;
    }
    return fd;
  } catch (err) {
    close(fd);
    throw err;
  }
}

/**
 * Docker's checks before a copy in, running or not: into a volume or bind
 * mount (the deepest one above the path holds it), only when the container
 * has it read-write (checkIfPathIsInAVolume); anywhere else, only when the
 * root filesystem is not --read-only (checkReadonlyRootfs).
 */
function refuseReadOnlyTarget(record: ContainerRecord, target: string): void {
  const holder = (record.mounts as unknown as MountPoint[])
    .filter((p) => (p.Type === "bind" || p.Type === "volume") && (target === p.Destination || target.startsWith(`${p.Destination}/`)))
    .sort((a, b) => depth(b) - depth(a))[0];
  if (holder !== undefined && !holder.RW) {
    throw new ContainrError("INVALID_STATE", "mounted volume is marked read-only", {
      hint: `${holder.Destination} is mounted read-only in the container: copy into ${holder.Source} on the host instead`,
    });
  }
  if (holder === undefined && (record.hostConfig as { ReadonlyRootfs?: boolean }).ReadonlyRootfs === true) {
    throw new ContainrError("INVALID_STATE", "container rootfs is marked read-only", {
      hint: "the container runs with --read-only: copy into one of its read-write volumes or bind mounts instead",
    });
  }
}

function isMounted(path: string): boolean {
  try {
    return lstatSync(path).dev !== lstatSync(dirname(path)).dev;
  } catch {
    return false;
  }
}

/** How resolveInContainer words its refusal of a link that climbs out of the root. */
interface UnsafeLinkRefusal {
  action: string;
  hint: string;
}

const COPY_REFUSAL: UnsafeLinkRefusal = { action: "cannot copy to", hint: "copy to a path that does not go through that link" };

const MOUNT_REFUSAL: UnsafeLinkRefusal = {
  action: "cannot mount the container's volume or bind mount for the copy on",
  hint: "remove that link from the container (or the mount from its configuration), or start the container and copy while it runs",
};

/**
 * The path as the container sees it, symlinks resolved (RESOLVE_IN_ROOT
 * does the same; this walk is only to refuse a relative link that climbs
 * above the root). `keepLast`: leave a symlink as the last component.
 */
export function resolveInContainer(rootfd: number, path: string, keepLast: boolean, refusal: UnsafeLinkRefusal = COPY_REFUSAL): string {
  let pending = posix.normalize(`/${path}`).split("/").filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === "..") {
      resolved.pop();
      continue;
    }
    const candidate = `/${[...resolved, name].join("/")}`;
    const parent = pinDirectory(rootfd, `/${resolved.join("/")}`);
    if (parent !== undefined) {
      try {
        const st = lstatIn(parent, name);
        if (st?.isSymbolicLink() && !(keepLast && pending.length === 0)) {
          if (++links > MAX_SYMLINKS) throw new ContainrError("UNSAFE_PATH", `${path}: too many levels of symbolic links`);
          const target = readlinkSync(parent.child(name));
          if (target.startsWith("/")) {
            resolved.length = 0;
          } else {
            let depth = resolved.length;
            for (const part of target.split("/")) {
              if (part === "..") depth--;
              else if (part !== "" && part !== ".") depth++;
              if (depth < 0) {
                throw new ContainrError("UNSAFE_PATH", `${refusal.action} ${path}: the symbolic link ${candidate} -> ${target} points outside the container's root`, {
                  hint: refusal.hint,
                });
              }
            }
          }
          pending = [...target.split("/").filter(Boolean), ...pending];
          continue;
        }
      } finally {
        parent.close();
      }
    }
    resolved.push(name);
  }
  return `/${resolved.join("/")}`;
}

/** Pin the directory at `path` inside the container; undefined when it does not exist. */
function pinDirectory(rootfd: number, path: string): PinnedDir | undefined {
  let fd: number;
  try {
    fd = openInRoot(rootfd, path, false);
  } catch (err) {
    if (toContainrError(err).errno === ENOENT || toContainrError(err).errno === 20) return undefined;
    throw err;
  }
  if (!fstatSync(fd).isDirectory()) {
    close(fd);
    return undefined;
  }
  return new PinnedDir(fd);
}

function lstatIn(dir: PinnedDir, name: string) {
  return lstatSync(dir.child(name), { throwIfNoEntry: false });
}

/** Docker's "SRC/." : the contents of the directory, not the directory. */
const contentsOnly = (path: string) => path.endsWith("/.") || path === ".";

/** `cp CONTAINER:SRC DEST|-` */
export async function copyFromContainer(ctx: EngineContext, record: ContainerRecord, ref: string, srcPath: string, dest: string | WritableStreamLike, options: CpOptions): Promise<void> {
  await withContainerRoot(ctx, record, async (rootfd) => {
    const source = resolveInContainer(rootfd, srcPath, !options.followLink);
    const parent = pinDirectory(rootfd, posix.dirname(source));
    const name = source === "/" ? "" : posix.basename(source);
    if (parent === undefined) throw notFound(srcPath, ref);
    try {
      const st = name === "" ? statSync(parent.path) : lstatIn(parent, name);
      if (st === undefined) throw notFound(srcPath, ref);
      if (typeof dest !== "string") {
        await writeTar(parent, name, contentsOnly(srcPath) ? "" : basename(source) || "root", dest);
        return;
      }
      copyToHost(parent, name, st.isDirectory(), srcPath, dest, copyOptions(options));
    } finally {
      parent.close();
    }
  });
}

export interface WritableStreamLike {
  write(chunk: Uint8Array): Promise<void> | void;
}

async function writeTar(parent: PinnedDir, name: string, prefix: string, out: WritableStreamLike): Promise<void> {
  const writer = new TarWriter();
  const pump = (async () => {
    const reader = writer.stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      await out.write(value);
    }
  })();
  const st = name === "" ? statSync(parent.path) : lstatSync(parent.child(name));
  if (st.isDirectory()) {
    const dir = name === "" ? parent : parent.openChild(name);
    if (dir === undefined) throw new ContainrError("UNSAFE_PATH", `${name} changed while it was copied`);
    try {
      if (prefix !== "") await writer.add({ name: `${prefix}/`, type: "dir", mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.trunc(st.mtimeMs / 1000) });
      await writer.addTree(dir.path, { prefix: prefix === "" ? "" : `${prefix}/` });
    } finally {
      if (dir !== parent) dir.close();
    }
  } else {
    const header = { name: prefix, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.trunc(st.mtimeMs / 1000) };
    if (st.isSymbolicLink()) {
      await writer.add({ ...header, type: "symlink", linkname: readlinkSync(parent.child(name)) });
    } else if (st.isFile()) {
      const fd = openSync(parent.child(name), constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const size = fstatSync(fd).size;
        const chunks = async function* () {
          const buf = new Uint8Array(1 << 20);
          for (;;) {
            const n = readSync(fd, buf, 0, buf.length, null);
            if (n <= 0) return;
            yield buf.slice(0, n);
          }
        };
        await writer.add({ ...header, type: "file", size }, chunks());
      } finally {
        closeSync(fd);
      }
    } else {
      throw new ContainrError("USAGE", `cp: ${prefix} is not a regular file, directory or symbolic link`);
    }
  }
  await writer.close();
  await pump;
}

function copyToHost(parent: PinnedDir, name: string, isDirectory: boolean, srcPath: string, dest: string, options: CopyOptions): void {
  const destSt = lstatSync(dest, { throwIfNoEntry: false });
  if (destSt?.isDirectory()) {
    const into = new PinnedDir(openRoot(dest));
    try {
      if (isDirectory && contentsOnly(srcPath)) {
        const from = name === "" ? parent : (parent.openChild(name) as PinnedDir);
        copyContents(from, into, options);
        if (from !== parent) from.close();
      } else {
        copyEntry(parent, name, into, name || "root", options);
      }
    } finally {
      into.close();
    }
    return;
  }
  if (destSt !== undefined && isDirectory) throw new ContainrError("USAGE", `cannot overwrite non-directory "${dest}" with directory "${srcPath}"`);
  if (destSt === undefined && dest.endsWith("/")) {
    throw new ContainrError("PATH_NOT_FOUND", `the destination directory must exist: ${dest}`);
  }
  const hostParent = dirname(dest);
  let parentFd: number;
  try {
    parentFd = openRoot(hostParent);
  } catch {
    throw new ContainrError("PATH_NOT_FOUND", `lstat ${hostParent}: no such file or directory`);
  }
  const into = new PinnedDir(parentFd);
  try {
    copyEntry(parent, name, into, basename(dest), options);
  } finally {
    into.close();
  }
}

/** `cp SRC|- CONTAINER:DEST` */
export async function copyToContainer(ctx: EngineContext, record: ContainerRecord, ref: string, src: string | Uint8Array, destPath: string, options: CpOptions): Promise<void> {
  let staging: string | undefined;
  let source = typeof src === "string" ? src : "";
  try {
    if (typeof src !== "string") {
      // a tar stream: unpacked by GNU tar into a private directory first (it refuses ../ and absolute names), then copied in
      staging = mkdtempSync("/tmp/containr-cp-");
      const tar = Bun.spawnSync(["tar", "-x", "--no-same-permissions", "-C", staging], { stdin: src, stderr: "pipe" });
      if (tar.exitCode !== 0) throw new ContainrError("INVALID_ARCHIVE", `cp: the tar stream on stdin: ${tar.stderr.toString().trim()}`);
      source = `${staging}/.`;
    }
    const srcSt = lstatSync(source, { throwIfNoEntry: false });
    if (srcSt === undefined) throw new ContainrError("PATH_NOT_FOUND", `lstat ${source}: no such file or directory`);
    const hostParent = new PinnedDir(openRoot(dirname(source)));
    const hostName = basename(source);
    await withContainerRoot(ctx, record, async (rootfd) => {
      const target = resolveInContainer(rootfd, destPath, false);
      refuseReadOnlyTarget(record, target);
      const destDir = pinDirectory(rootfd, target);
      const opts = copyOptions(typeof src === "string" ? options : { ...options, archive: true });
      if (destDir !== undefined) {
        try {
          if (srcSt.isDirectory() && contentsOnly(source)) {
            const from = new PinnedDir(openRoot(source));
            try {
              copyContents(from, destDir, opts);
            } finally {
              from.close();
            }
          } else {
            copyEntry(hostParent, hostName, destDir, hostName, opts);
          }
        } finally {
          destDir.close();
        }
        return;
      }
      if (destPath.endsWith("/")) throw notFound(destPath, ref);
      const parent = pinDirectory(rootfd, posix.dirname(target));
      if (parent === undefined) throw notFound(posix.dirname(destPath), ref);
      try {
        const existing = lstatIn(parent, posix.basename(target));
        if (existing !== undefined && !existing.isDirectory() && srcSt.isDirectory()) {
          throw new ContainrError("USAGE", `cannot overwrite non-directory "${destPath}" with directory "${src}"`);
        }
        if (srcSt.isDirectory()) {
          const into = ensureDirectory(parent, posix.basename(target));
          const from = new PinnedDir(openRoot(source));
          try {
            copyContents(from, into, opts);
          } finally {
            from.close();
            into.close();
          }
        } else {
          copyEntry(hostParent, hostName, parent, posix.basename(target), opts);
        }
      } finally {
        parent.close();
      }
    });
    hostParent.close();
  } finally {
    if (staging !== undefined) rmSync(staging, { recursive: true, force: true });
  }
}
