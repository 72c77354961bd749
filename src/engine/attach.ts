/**
 * The client side of the monitor's attach socket (csrc/bin/containr-monitor/
 * attach.c): a hello byte says whether we feed stdin, then output arrives in
 * Docker's stdcopy frames (8-byte header: stream, 0, 0, 0, big-endian
 * length), and a last frame of stream 4 carries the exit record.
 *
 * A container with a terminal takes resize requests on the same socket: a
 * connection that says 'w' followed by rows and columns (big-endian u16).
 *
 * The socket's path may exceed sun_path's 108 bytes, so it is reached
 * through an fd of its directory: /proc/self/fd/N/attach (podman does the same).
 */
import { closeSync, constants, openSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { ContainrError } from "../diag/errors.ts";
import type { ExitRecord } from "./container-state.ts";

export type AttachMode = "output" | "stdin" | "stdin-once";
const HELLO: Record<AttachMode, string> = { output: "r", stdin: "i", "stdin-once": "o" };
const STREAM_STDOUT = 1;
const STREAM_STDERR = 2;
const STREAM_EXIT = 4;

export interface AttachHandlers {
  stdout(data: Uint8Array): void;
  stderr(data: Uint8Array): void;
  /** the exit frame arrived (the monitor wrote exit.json before sending it) */
  exit?(record: ExitRecord): void;
}

export interface Attachment {
  /** send bytes to the container's stdin (stdin modes only) */
  write(data: Uint8Array): void;
  /** end of our input: with stdin-once the container's stdin closes */
  endInput(): void;
  /** leave the container running (detach) */
  close(): void;
  /** resolves when the monitor closed the connection: the exit record, when it sent one */
  done: Promise<ExitRecord | undefined>;
}

/** Split the byte stream into stdcopy frames. */
class FrameReader {
  private buffer = new Uint8Array(0);
  exit: ExitRecord | undefined;

  constructor(private readonly handlers: AttachHandlers) {}

  push(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    let at = 0;
    while (joined.length - at >= 8) {
      const view = new DataView(joined.buffer, joined.byteOffset + at, 8);
      const length = view.getUint32(4);
      if (joined.length - at - 8 < length) break;
      const payload = joined.subarray(at + 8, at + 8 + length);
      const stream = joined[at];
      if (stream === STREAM_STDOUT) this.handlers.stdout(payload);
      else if (stream === STREAM_STDERR) this.handlers.stderr(payload);
      else if (stream === STREAM_EXIT) {
        this.exit = JSON.parse(new TextDecoder().decode(payload)) as ExitRecord;
        this.handlers.exit?.(this.exit);
      }
      at += 8 + length;
    }
    this.buffer = joined.slice(at);
  }
}

async function connectMonitor(runDir: string): Promise<Socket> {
  let dirFd: number;
  try {
    dirFd = openSync(runDir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    throw new ContainrError("INVALID_STATE", "the container has no monitor to attach to", { hint: "start the container first" });
  }
  try {
    return await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ path: `/proc/self/fd/${dirFd}/attach`, allowHalfOpen: true });
      s.once("connect", () => resolve(s));
      s.once("error", (err) =>
        reject(new ContainrError("INVALID_STATE", `attach: the container's monitor does not answer: ${err.message}`, { hint: "is the container running?" })),
      );
    });
  } finally {
    closeSync(dirFd);
  }
}

/** Set the window size of a container's terminal (the monitor applies TIOCSWINSZ to the pty master). */
export async function resizeTerminal(runDir: string, rows: number, columns: number): Promise<void> {
  const socket = await connectMonitor(runDir);
  const request = new Uint8Array(5);
  request[0] = "w".charCodeAt(0);
  new DataView(request.buffer).setUint16(1, rows);
  new DataView(request.buffer).setUint16(3, columns);
  await new Promise<void>((resolve) => {
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
    socket.end(request);
  });
}

/**
 * Connect to a running container's monitor. takeOverExit: this client does
 * the exit command's work itself when the exit frame arrives, removing the
 * run directory, and closes; the monitor then skips its exit command (and
 * runs it after all if the client closed without removing the directory).
 */
export async function attachTo(runDir: string, mode: AttachMode, handlers: AttachHandlers, takeOverExit = false): Promise<Attachment> {
  const reader = new FrameReader(handlers);
  const socket = await connectMonitor(runDir);
  socket.write(takeOverExit ? HELLO[mode].toUpperCase() : HELLO[mode]);
  const done = new Promise<ExitRecord | undefined>((resolve) => {
    socket.on("data", (chunk: Buffer) => reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    // allowHalfOpen: the monitor's end of the stream does not close our side by itself
    socket.on("end", () => {
      socket.destroy();
      resolve(reader.exit);
    });
    socket.on("close", () => resolve(reader.exit));
    socket.on("error", () => resolve(reader.exit));
  });
  return {
    write: (data) => {
      socket.write(data);
    },
    endInput: () => {
      socket.end();
    },
    close: () => {
      socket.destroy();
    },
    done,
  };
}
