/**
 * File access for cgroupfs. Every value goes out in one write() call (the
 * kernel parses each write on its own, so a value split over two writes is
 * two values), and every failure names the file, the value and the
 * directory: `write memory.limit_in_bytes = "abc" in /sys/fs/cgroup/memory/containr/x: EINVAL: ...`.
 */
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { ContainrError, type ErrorCode } from "../../diag/errors.ts";
import { errnoName } from "../../diag/errno.ts";

interface NodeFsError extends Error {
  code?: string;
  errno?: number;
}

const ROOTLESS_HINT =
  "run as root, or give your user a delegated cgroup (systemd Delegate=yes) and pass --rootless; without one, run without resource limits";

function errnoOf(err: unknown): { name: string; errno: number | undefined } {
  const e = err as NodeFsError;
  const name = typeof e?.code === "string" && /^E[A-Z0-9]+$/.test(e.code) ? e.code : "EIO";
  return { name, errno: typeof e?.errno === "number" ? Math.abs(e.errno) : errnoName.number(name) };
}

/** True when err is a node fs error with that errno name. */
export function isErrno(err: unknown, name: string): boolean {
  return (err as NodeFsError)?.code === name;
}

/**
 * A ContainrError for a failed cgroupfs operation: PERMISSION_DENIED (with a
 * rootless hint) for EACCES/EPERM, CGROUP_UNAVAILABLE otherwise.
 */
export function cgroupError(err: unknown, what: string): ContainrError {
  const { name, errno } = errnoOf(err);
  const code: ErrorCode = name === "EACCES" || name === "EPERM" ? "PERMISSION_DENIED" : "CGROUP_UNAVAILABLE";
  return new ContainrError(code, `${what}: ${name}: ${errnoName.describe(name)}`, {
    errno,
    cause: err,
    hint: code === "PERMISSION_DENIED" ? ROOTLESS_HINT : undefined,
  });
}

/** "key value" lines (cpu.stat, memory.stat) as numbers by key. */
export function flatKeyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

/** One cgroup directory of one hierarchy (a v1 controller's, or the unified one). */
export class CgroupDir {
  constructor(readonly path: string) {}

  file(name: string): string {
    return join(this.path, name);
  }

  has(name: string): boolean {
    return existsSync(this.file(name));
  }

  /** The file's content without the trailing newline. */
  read(name: string): string {
    try {
      return readFileSync(this.file(name), "utf8").replace(/\n$/, "");
    } catch (err) {
      throw cgroupError(err, `read ${name} in ${this.path}`);
    }
  }

  /** The file's content, or undefined when the file does not exist. */
  readIfPresent(name: string): string | undefined {
    try {
      return readFileSync(this.file(name), "utf8").replace(/\n$/, "");
    } catch (err) {
      if (isErrno(err, "ENOENT")) return undefined;
      throw cgroupError(err, `read ${name} in ${this.path}`);
    }
  }

  /** Write value with a single write() on an existing file (never creates one). */
  write(name: string, value: string): void {
    const what = `write ${name} = ${JSON.stringify(value)} in ${this.path}`;
    let fd: number;
    try {
      fd = openSync(this.file(name), constants.O_WRONLY | constants.O_TRUNC);
    } catch (err) {
      throw cgroupError(err, what);
    }
    try {
      const bytes = Buffer.from(value);
      const written = writeSync(fd, bytes, 0, bytes.length);
      if (written !== bytes.length) {
        throw new ContainrError("CGROUP_UNAVAILABLE", `${what}: short write (${written} of ${bytes.length} bytes)`);
      }
    } catch (err) {
      throw err instanceof ContainrError ? err : cgroupError(err, what);
    } finally {
      closeSync(fd);
    }
  }

  /** Pids listed in cgroup.procs of this directory and, with recursive, of every sub-cgroup. */
  pids(recursive: boolean): number[] {
    const found: number[] = [];
    const visit = (dir: string) => {
      let text: string;
      try {
        text = readFileSync(join(dir, "cgroup.procs"), "utf8");
      } catch (err) {
        if (isErrno(err, "ENOENT")) return;
        throw cgroupError(err, `read cgroup.procs in ${dir}`);
      }
      for (const line of text.split("\n")) if (line.trim() !== "") found.push(Number(line));
      if (recursive) for (const sub of subdirectories(dir)) visit(join(dir, sub));
    };
    visit(this.path);
    return found;
  }
}

function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch (err) {
    if (isErrno(err, "ENOENT")) return [];
    throw cgroupError(err, `list ${dir}`);
  }
}

/**
 * mkdir -p that reports which directories it made, top first, so that a
 * failed create removes exactly those. onCreated runs after each new level
 * (cpuset fills in cpus/mems there before the next level is made).
 */
export function makeCgroupDirs(path: string, onCreated?: (dir: string) => void): string[] {
  const missing: string[] = [];
  for (let dir = path; !existsSync(dir); dir = dirname(dir)) {
    if (dirname(dir) === dir) break;
    missing.unshift(dir);
  }
  const created: string[] = [];
  try {
    for (const dir of missing) {
      try {
        mkdirSync(dir, { mode: 0o755 });
        created.push(dir);
      } catch (err) {
        if (!isErrno(err, "EEXIST")) throw cgroupError(err, `create cgroup ${dir}`);
      }
      onCreated?.(dir);
    }
  } catch (err) {
    removeCgroupDirs(created.reverse());
    throw err;
  }
  return created;
}

const RMDIR_RETRY_MS = 10;
const RMDIR_DEADLINE_MS = 2000;

/**
 * Remove one cgroup directory and its sub-cgroups, leaf first. A cgroup is
 * busy (EBUSY) while its last processes are still exiting, so retry briefly;
 * a directory that is already gone is fine.
 */
export function removeCgroupTree(path: string): void {
  for (const sub of subdirectories(path)) removeCgroupTree(join(path, sub));
  const deadline = Date.now() + RMDIR_DEADLINE_MS;
  for (;;) {
    try {
      rmdirSync(path);
      return;
    } catch (err) {
      if (isErrno(err, "ENOENT")) return;
      if (!isErrno(err, "EBUSY") || Date.now() >= deadline) throw cgroupError(err, `remove cgroup ${path}`);
      Bun.sleepSync(RMDIR_RETRY_MS);
    }
  }
}

/** Remove directories in the given order (leaf first), collecting no error: used to undo a failed create. */
export function removeCgroupDirs(dirs: string[]): void {
  for (const dir of dirs) {
    try {
      removeCgroupTree(dir);
    } catch {
      // Best effort while undoing: the error that made us undo is the one to report.
    }
  }
}
