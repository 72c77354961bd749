/**
 * Typed wrappers over the runtime's C (csrc/lib/spawn.c, sync.c, wait.c):
 * starting containr-init, which clones a container's first process (itself,
 * or through the container's monitor), the sync socket, waiting with signal
 * forwarding, pidfds, the exec fifo and flock. Errors are ContainrErrors
 * built from the errno, with `what` as the context.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";
import initHelper from "../../build/containr-init" with { type: "file" };
import { fromErrno, type ErrorCode } from "../diag/errors.ts";
import { materialize } from "./embedded.ts";
import { libraryPath } from "./library.ts";

const { i32, u32 } = FFIType;
const pointer = FFIType.ptr;

let lib: ReturnType<typeof load> | undefined;

function load() {
  return dlopen(libraryPath(), {
    containr_spawn: { args: [pointer, pointer, u32, i32, pointer], returns: i32 },
    containr_spawn_monitor: { args: [pointer, pointer, u32, pointer, pointer, u32, i32, i32, pointer], returns: i32 },
    containr_sync_recv: { args: [i32, pointer, i32], returns: i32 },
    containr_sync_send: { args: [i32, u32], returns: i32 },
    containr_wait_forwarding: { args: [i32], returns: i32 },
    containr_forward_signals: { args: [i32], returns: FFIType.void },
    containr_stop_forwarding: { args: [], returns: FFIType.void },
    containr_reap: { args: [i32], returns: i32 },
    containr_pidfd_open: { args: [i32], returns: i32 },
    containr_pidfd_send_signal: { args: [i32, i32], returns: i32 },
    containr_pidfd_wait: { args: [i32, i32], returns: i32 },
    containr_close: { args: [i32], returns: i32 },
    containr_mkfifo: { args: [pointer, i32], returns: i32 },
    containr_exec_fifo_release: { args: [pointer, i32, i32], returns: i32 },
    containr_flock: { args: [i32, i32], returns: i32 },
  }).symbols;
}

function sym() {
  lib ??= load();
  return lib;
}

function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}

function check(rc: number, what: string, code?: ErrorCode): number {
  if (rc < 0) throw fromErrno(-rc, what, code);
  return rc;
}

export const ETIMEDOUT = 110;
export const ESRCH = 3;
export const EPIPE = 32;

export interface SpawnedHelper {
  /** containr-init's pid when it is a child of this process (reaped here); undefined when another process started it */
  pid?: number;
  /** the parent's end of the SOCK_SEQPACKET sync socket */
  sock: number;
}

let helperPath: string | undefined;

function initHelperPath(): string {
  helperPath ??= materialize(initHelper, 0o700);
  return helperPath;
}

/**
 * Start containr-init (csrc/bin/containr-init/) on a plan (src/runtime/plan.ts):
 * it creates the namespaces, clones the container's init as a child of this
 * process and reports its pid over the socket. cgroupFd: a cgroup v2
 * directory fd for CLONE_INTO_CGROUP, or -1.
 */
export function spawnInitHelper(plan: Uint8Array, cgroupFd: number): SpawnedHelper {
  const out = new Int32Array(2);
  check(sym().containr_spawn(cstr(initHelperPath()), ptr(plan), plan.byteLength, cgroupFd, ptr(out)), "start the container's init helper", "NAMESPACE_FAILED");
  return { pid: out[0]!, sock: out[1]! };
}

export interface SpawnedMonitor {
  /** the monitor's pid: a child of this process */
  pid: number;
  /** the parent's end of the sync socket with containr-init, which the monitor started */
  sock: number;
  /** the control pipe's write end: the init's pid goes here once it is READY, EOF tells the monitor the create failed */
  control: number;
  /** the read end of the monitor's stderr, its diagnostics until it has the init's pid */
  diagnostics: number;
}

/**
 * Start a container's monitor (csrc/bin/containr-monitor, at monitor)
 * with args, which starts containr-init on the plan as its create command
 * (csrc/monitor-spawn.h): the container's init is the monitor's child, and
 * this process runs the sync protocol. consoleFd: the listening console
 * socket for the monitor's -t, or -1.
 */
export function spawnMonitor(monitor: string, args: string[], plan: Uint8Array, cgroupFd: number, consoleFd: number): SpawnedMonitor {
  const words = Buffer.from(args.map((a) => `${a}\0`).join(""), "utf8");
  // a helper in a memfd of this process (a noexec runtime directory, embedded.ts) is /proc/self/fd/N
  // here; the monitor reaches it through this process, which lives until the helper is running
  const helper = initHelperPath().replace(/^\/proc\/self\//, `/proc/${process.pid}/`);
  const out = new Int32Array(4);
  const rc = sym().containr_spawn_monitor(cstr(monitor), ptr(words), words.byteLength, cstr(helper), ptr(plan), plan.byteLength, cgroupFd, consoleFd, ptr(out));
  check(rc, "start the container's monitor", "CONTAINER_INIT_FAILED");
  return { pid: out[0]!, sock: out[1]!, control: out[2]!, diagnostics: out[3]! };
}

/** Size of one sync message (csrc/sync.h struct sync_msg). */
export const SYNC_MESSAGE_SIZE = 512;

/** Receive one message into buf: true, or false on EOF. Throws on a timeout or error. */
export function syncReceive(fd: number, buf: Uint8Array, timeoutMs: number): boolean {
  const rc = sym().containr_sync_recv(fd, ptr(buf), timeoutMs);
  if (rc === -ETIMEDOUT) throw fromErrno(ETIMEDOUT, "wait for the container process", "TIMEOUT");
  return check(rc, "read the sync socket") === 1;
}

export function syncSend(fd: number, type: number): void {
  check(sym().containr_sync_send(fd, type), "write the sync socket");
}

/** From now on forward INT, TERM, HUP, QUIT, USR1 and USR2 to pid (until stopForwardingSignals or the end of a wait). */
export function forwardSignalsTo(pid: number): void {
  sym().containr_forward_signals(pid);
}

export function stopForwardingSignals(): void {
  sym().containr_stop_forwarding();
}

/** Block until the child pid exits, forwarding INT, TERM, HUP, QUIT, USR1, USR2 to it; its status (128+n for signal n). */
export function waitForwardingSignals(pid: number): number {
  return check(sym().containr_wait_forwarding(pid), `wait for process ${pid}`);
}

/** Reap a child of this process; its status, or undefined when it is not our child (any more). */
export function reap(pid: number): number | undefined {
  const rc = sym().containr_reap(pid);
  return rc < 0 ? undefined : rc;
}

export function pidfdOpen(pid: number): number {
  return check(sym().containr_pidfd_open(pid), `open a pidfd for process ${pid}`);
}

/** Send a signal through a pidfd; false when the process has already exited. */
export function pidfdSignal(pidfd: number, signal: number): boolean {
  const rc = sym().containr_pidfd_send_signal(pidfd, signal);
  if (rc === -ESRCH) return false;
  check(rc, `send signal ${signal}`);
  return true;
}

/** Wait until the pidfd's process exits: true, or false after timeoutMs. */
export function pidfdWaitExit(pidfd: number, timeoutMs: number): boolean {
  return check(sym().containr_pidfd_wait(pidfd, timeoutMs), "wait for the process to exit") === 1;
}

export function closeFd(fd: number): void {
  sym().containr_close(fd);
}

export function mkfifo(path: string, mode: number): void {
  check(sym().containr_mkfifo(cstr(path), mode), `mkfifo ${path}`);
}

/**
 * Open the exec fifo for reading, which lets the container's init (blocked
 * opening it for writing) go on to execve, and read its byte. Returns
 * "released", or "dead" when the init exited first.
 */
export function releaseExecFifo(path: string, pidfd: number, timeoutMs: number): "released" | "dead" {
  const rc = sym().containr_exec_fifo_release(cstr(path), pidfd, timeoutMs);
  if (rc === -ESRCH || rc === -EPIPE) return "dead";
  if (rc === -ETIMEDOUT) throw fromErrno(ETIMEDOUT, `wait for the container's init on ${path}`, "TIMEOUT");
  check(rc, `open the exec fifo ${path}`);
  return "released";
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_UN = 8;
export const LOCK_NB = 4;

export function flock(fd: number, op: number, what: string): void {
  check(sym().containr_flock(fd, op), what);
}

const EWOULDBLOCK = 11;

/** flock without waiting (LOCK_NB): false when another process holds a conflicting lock. */
export function tryFlock(fd: number, op: number, what: string): boolean {
  const rc = sym().containr_flock(fd, op | LOCK_NB);
  if (rc === -EWOULDBLOCK) return false;
  check(rc, what);
  return true;
}
