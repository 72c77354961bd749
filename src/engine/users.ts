/**
 * The container's user: `-u user[:group]` or the image's User, resolved the
 * way runc's libcontainer/user GetExecUser resolves it for Docker, against
 * the image's /etc/passwd and /etc/group:
 *
 * - a numeric user is a uid and needs no passwd entry; a name must have one
 *   ("unable to find user x: no matching entries in passwd file");
 * - without a group the passwd entry's gid is used, and the supplementary
 *   groups are every /etc/group entry that lists the user by name;
 * - with an explicit group (name or gid) that group is the gid and there are
 *   no supplementary groups;
 * - no user at all means uid 0 ("root" in passwd, when it is there).
 *
 * Docker puts the primary gid first in additionalGids (daemon/oci_linux.go
 * getUser), and so does this module.
 *
 * The files are inside an image or a running container's root, which its
 * author controls: they are read through readRootfsFile, which resolves
 * symlinks as if the rootfs were "/" and never opens anything outside it.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, realpathSync } from "node:fs";
import { posix } from "node:path";
import { ContainrError } from "../diag/errors.ts";

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** the primary gid followed by the supplementary groups, as Docker passes them */
  additionalGids: number[];
  /** the passwd entry's home directory, "/" when there is none (HOME for exec) */
  home: string;
  /** the passwd entry's name, when the user matched one */
  name?: string;
}

const MAX_ID = 2 ** 31 - 1;
const MAX_SYMLINKS = 40;
/** /etc/passwd and /etc/group of real images are kilobytes; a huge one is hostile or broken. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

function unsafe(message: string): ContainrError {
  return new ContainrError("UNSAFE_PATH", message, {
    hint: "the image's file is a symlink or special file that leaves the root filesystem; it was not read",
  });
}

/**
 * Resolve `path` inside `root` as the kernel would after chroot(root):
 * absolute symlink targets start again at root and ".." stops at root. The
 * result is a host path under root (its last components may not exist).
 */
export function resolveInRoot(root: string, path: string): string {
  const pending = posix.normalize(`/${path}`).split("/").filter((c) => c !== "");
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const component = pending.shift() as string;
    if (component === ".") continue;
    if (component === "..") {
      resolved.pop();
      continue;
    }
    const host = posix.join(root, ...resolved, component);
    let isLink = false;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch {
      // Missing: the rest of the path cannot contain links; open() reports ENOENT.
      return posix.join(root, ...resolved, component, ...pending);
    }
    if (!isLink) {
      resolved.push(component);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw unsafe(`${path}: too many levels of symbolic links inside the root filesystem`);
    const target = readlinkSync(host);
    if (target.startsWith("/")) resolved.length = 0;
    pending.unshift(...target.split("/").filter((c) => c !== ""));
  }
  return posix.join(root, ...resolved);
}

/**
 * The content of a regular file inside a root filesystem, or undefined when
 * it does not exist. Symlinks resolve inside the root; the opened file is
 * checked to be a regular file under the root (through /proc/self/fd), so a
 * link swapped in after resolution cannot make it read a host file.
 */
export function readRootfsFile(root: string, path: string): string | undefined {
  const realRoot = realpathSync(root);
  const host = resolveInRoot(realRoot, path);
  let fd: number;
  try {
    fd = openSync(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    if (code === "ELOOP") throw unsafe(`${path}: a symlink changed while it was being read`);
    throw err;
  }
  try {
    const opened = readlinkSync(`/proc/self/fd/${fd}`);
    if (!opened.startsWith(realRoot === "/" ? "/" : `${realRoot}/`)) throw unsafe(`${path} resolves outside the root filesystem`);
    const st = fstatSync(fd);
    if (!st.isFile()) throw unsafe(`${path} is not a regular file`);
    if (st.size > MAX_FILE_BYTES) throw unsafe(`${path} is larger than ${MAX_FILE_BYTES} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parseId(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]+$/.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ID ? id : undefined;
}

function records(content: string): string[][] {
  return content
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split(":"));
}

/** passwd(5) entries; lines whose uid or gid is not a number are skipped. */
export function parsePasswd(content: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of records(content)) {
    const uid = parseId(f[2]);
    const gid = parseId(f[3]);
    if (f[0] === undefined || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] || "/" });
  }
  return out;
}

/** group(5) entries; lines whose gid is not a number are skipped. */
export function parseGroup(content: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of records(content)) {
    const gid = parseId(f[2]);
    if (f[0] === undefined || gid === undefined) continue;
    const members = (f[3] ?? "").split(",").map((m) => m.trim()).filter((m) => m !== "");
    out.push({ name: f[0], gid, members });
  }
  return out;
}

function numericId(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const id = Number(text);
  if (id > MAX_ID) {
    throw new ContainrError("USAGE", "uids and gids must be in range 0-2147483647", {
      hint: `${text} is too large for a user or group id`,
    });
  }
  return id;
}

const USER_HINT = "check -u/--user or the image's USER: names are looked up in the image's /etc/passwd and /etc/group";

/**
 * Resolve a user spec ("name", "uid", "name:group", "uid:gid", or empty for
 * root) against the passwd and group contents of an image (undefined when
 * the image has no such file).
 */
export function resolveUserFrom(spec: string | undefined, passwd: string | undefined, group: string | undefined): ResolvedUser {
  const text = spec ?? "";
  const colon = text.indexOf(":");
  const userArg = colon < 0 ? text : text.slice(0, colon);
  const groupArg = colon < 0 ? "" : text.slice(colon + 1);
  const users = passwd === undefined ? [] : parsePasswd(passwd);
  const groups = group === undefined ? [] : parseGroup(group);

  const uidArg = userArg === "" ? 0 : numericId(userArg);
  const matched = uidArg !== undefined ? users.find((u) => u.uid === uidArg) : users.find((u) => u.name === userArg);
  if (matched === undefined && uidArg === undefined) {
    throw new ContainrError("USAGE", `unable to find user ${userArg}: no matching entries in passwd file`, { hint: USER_HINT });
  }
  const user: ResolvedUser = {
    uid: matched?.uid ?? (uidArg as number),
    gid: matched?.gid ?? 0,
    additionalGids: [],
    home: matched?.home ?? "/",
  };
  if (matched !== undefined) user.name = matched.name;

  let supplementary: number[] = [];
  if (groupArg !== "") {
    const gidArg = numericId(groupArg);
    const found = gidArg !== undefined ? groups.find((g) => g.gid === gidArg) : groups.find((g) => g.name === groupArg);
    if (found === undefined && gidArg === undefined) {
      throw new ContainrError("USAGE", `unable to find group ${groupArg}: no matching entries in group file`, { hint: USER_HINT });
    }
    user.gid = found?.gid ?? (gidArg as number);
  } else if (matched !== undefined) {
    supplementary = groups.filter((g) => g.members.includes(matched.name)).map((g) => g.gid);
  }
  user.additionalGids = [user.gid, ...supplementary];
  return user;
}

/** Resolve a user spec against the /etc/passwd and /etc/group inside a root filesystem. */
export function resolveUser(rootfs: string, spec: string | undefined): ResolvedUser {
  return resolveUserFrom(spec, readRootfsFile(rootfs, "/etc/passwd"), readRootfsFile(rootfs, "/etc/group"));
}
