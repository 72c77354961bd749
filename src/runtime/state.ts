/**
 * Per-container state on disk: <root>/<id>/state.json (written
 * tmp + rename) and exec.fifo while the container is created but
 * not started. The status is derived when read: the pid AND its start
 * time (/proc/<pid>/stat field 22) must match, so a reused pid is never
 * mistaken for the container.
 */
import { replaceFile } from "../native/replace-file.ts";
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContainrError } from "../diag/errors.ts";
import type { Spec } from "../oci/spec.ts";
import { flock, LOCK_EX } from "../native/runtime.ts";

export type Status = "created" | "running" | "paused" | "stopped";

export interface ContainerState {
  ociVersion: string;
  id: string;
  pid: number;
  /** /proc/<pid>/stat field 22 when the container was created */
  processStartTime: string;
  bundle: string;
  rootfs: string;
  /** RFC 3339 with nanoseconds, as runc */
  created: string;
  owner: string;
  annotations: Record<string, string>;
  /** linux.cgroupsPath from the spec, and the directories the cgroup manager created */
  cgroupsPath?: string;
  cgroupPaths: Record<string, string>;
}

/** runc's rule for ids. */
const ID_PATTERN = /^[\w+.-]+$/;

export function checkId(id: string): string {
  if (!ID_PATTERN.test(id) || id === "." || id === "..") {
    throw new ContainrError("USAGE", `invalid container id ${JSON.stringify(id)}: use letters, digits, "_", "+", "-" and "."`, {
      hint: 'an id matches ^[\\w+.-]+$ and is not "." or ".."',
    });
  }
  return id;
}

/** --root, or /run/containr/oci for root and $XDG_RUNTIME_DIR/containr/oci for other users. */
export function stateRoot(root: string | undefined): string {
  if (root) return root;
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return "/run/containr/oci";
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  if (!runtimeDir) {
    throw new ContainrError("USAGE", "XDG_RUNTIME_DIR is not set, so there is no default state directory for a non-root user", {
      hint: "pass --root DIR",
    });
  }
  return join(runtimeDir, "containr/oci");
}

export const containerDir = (root: string, id: string) => join(root, checkId(id));

/**
 * The spec the container was created from, kept in its state directory:
 * exec (capabilities, seccomp), poststart and poststop hooks need it after
 * the bundle may have changed.
 */
export function saveSpec(dir: string, spec: Spec): void {
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec), { mode: 0o600 });
}

export function readSavedSpec(dir: string): Spec | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Spec;
  } catch {
    return undefined;
  }
}
export const execFifoPath = (dir: string) => join(dir, "exec.fifo");

/**
 * tmp + rename: a concurrent reader sees the old state or the new one, never
 * half of one. No fsync: the state describes processes, which do not survive
 * the crash or power loss an fsync would guard against (after a reboot the
 * pid and start time no longer match and the container reads as stopped),
 * and it costs milliseconds on every create when --root is on a disk.
 */
export function writeState(dir: string, state: ContainerState): void {
  replaceFile(join(dir, "state.json"), JSON.stringify(state), 0o600, { durable: false });
}

export function readState(root: string, id: string): ContainerState {
  const dir = containerDir(root, id);
  let text: string;
  try {
    text = readFileSync(join(dir, "state.json"), "utf8");
  } catch {
    throw new ContainrError("CONTAINER_NOT_FOUND", `container ${id} does not exist`, { hint: `see 'containr oci --root ${root} list'` });
  }
  try {
    return JSON.parse(text) as ContainerState;
  } catch {
    throw new ContainrError("INVALID_CONFIG", `the state of container ${id} (${join(dir, "state.json")}) is corrupt`, {
      hint: `remove ${dir} after making sure the container's process is gone`,
    });
  }
}

export interface ProcessStat {
  /** R, S, D, Z (zombie), X (dead), ... */
  state: string;
  startTime: string;
}

/** Fields 3 and 22 of /proc/<pid>/stat, or undefined when the process is gone. */
export function processStat(pid: number): ProcessStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // the command name (field 2) is in parentheses and may contain spaces
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "", startTime: fields[19] ?? "" };
}

/** Is the container's process (this pid with this start time) alive? */
export function isAlive(state: ContainerState): boolean {
  const stat = processStat(state.pid);
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X" && stat.startTime === state.processStartTime;
}

export function statusOf(state: ContainerState, dir: string): Status {
  if (!isAlive(state)) return "stopped";
  if (existsSync(pausedMarker(dir))) return "paused";
  return existsSync(execFifoPath(dir)) ? "created" : "running";
}

/** Present while `oci pause` holds the container frozen. */
export const pausedMarker = (dir: string) => join(dir, "paused");

/**
 * Hold an exclusive lock on the container's directory while fn runs, so
 * that create, start, kill and delete of one id do not interleave.
 */
export function withLock<T>(dir: string, fn: () => T): T {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    flock(fd, LOCK_EX, `lock ${dir}`);
    return fn();
  } finally {
    closeSync(fd);
  }
}

/** Ids of the containers under root (directories with a state.json). */
export function listIds(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.filter((name) => ID_PATTERN.test(name) && existsSync(join(root, name, "state.json"))).sort();
}

export function ensureRoot(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  if (!statSync(root).isDirectory()) throw new ContainrError("USAGE", `--root ${root} is not a directory`);
}
