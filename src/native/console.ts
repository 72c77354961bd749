/**
 * Typed wrappers over csrc/lib/console.c: receiving a pty master over a
 * unix socket (SCM_RIGHTS), a unix socket server for console sockets, and
 * relaying a pty to the caller's terminal.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";
import { ContainrError, fromErrno } from "../diag/errors.ts";
import { libraryPath } from "./library.ts";

const { i32 } = FFIType;
const pointer = FFIType.ptr;

let lib: ReturnType<typeof load> | undefined;

function load() {
  return dlopen(libraryPath(), {
    containr_recv_fd: { args: [i32, pointer, i32, i32, pointer], returns: i32 },
    containr_unix_listen: { args: [pointer], returns: i32 },
    containr_accept: { args: [i32, i32], returns: i32 },
    containr_tty_relay: { args: [i32, i32], returns: i32 },
  }).symbols;
}

function sym() {
  lib ??= load();
  return lib;
}

const ETIMEDOUT = 110;

function check(rc: number, what: string): number {
  if (rc === -ETIMEDOUT) throw new ContainrError("TIMEOUT", `${what}: timed out`);
  if (rc < 0) throw fromErrno(-rc, what);
  return rc;
}

export interface ReceivedMessage {
  /** the bytes of the message (empty on EOF) */
  data: Uint8Array;
  /** the descriptor that came with it, or -1 */
  fd: number;
  eof: boolean;
}

/** Receive one message (at most cap bytes) and the fd it carries. */
export function receiveWithFd(sock: number, cap: number, timeoutMs: number, what: string): ReceivedMessage {
  const buf = new Uint8Array(cap);
  const fd = new Int32Array(1);
  const n = check(sym().containr_recv_fd(sock, ptr(buf), cap, timeoutMs, ptr(fd)), what);
  return { data: buf.subarray(0, n), fd: fd[0]!, eof: n === 0 };
}

export function unixListen(path: string): number {
  return check(sym().containr_unix_listen(Buffer.from(`${path}\0`)), `listen on ${path}`);
}

export function acceptConnection(fd: number, timeoutMs: number): number {
  return check(sym().containr_accept(fd, timeoutMs), "accept a connection");
}

/** Relay stdin/stdout to the pty master until it closes, then reap pid; its exit status (128+n for signal n). */
export function relayTerminal(master: number, pid: number): number {
  return check(sym().containr_tty_relay(master, pid), `relay the terminal of process ${pid}`);
}
