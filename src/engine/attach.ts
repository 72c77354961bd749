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
import type { Socket } from "bun";
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

/**
 * The callbacks of one monitor connection. Bun.connect, not node:net: the
 * bundle hoists every builtin a module imports to the top, and node:net
 * (with node:stream under it) costs every command ~10 ms to load.
 */
interface ConnectionEvents {
  data?(chunk: Uint8Array): void;
  /** the connection ended (the monitor closed it, or an error): called once */
  closed(): void;
}

/**
 * A connection to the monitor's attach socket. Bun's write takes what the
 * socket buffer has room for; the rest waits here for `drain`, in order.
 */
class MonitorConnection {
  private pending: Uint8Array[] = [];
  private shutdownAfterFlush = false;
  private socket!: Socket<undefined>;

  private constructor() {}

  static async open(runDir: string, events: ConnectionEvents): Promise<MonitorConnection> {
    let dirFd: number;
    try {
      dirFd = openSync(runDir, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch {
      throw new ContainrError("INVALID_STATE", "the container has no monitor to attach to", { hint: "start the container first" });
    }
    const connection = new MonitorConnection();
    let ended = false;
    const closed = () => {
      if (ended) return;
      ended = true;
      events.closed();
    };
    try {
      connection.socket = await Bun.connect({
        unix: `/proc/self/fd/${dirFd}/attach`,
        socket: {
          data: (_socket, chunk) => events.data?.(chunk),
          drain: () => connection.flush(),
          // the monitor's end of the stream: nothing more comes, and we are done too
          end: (socket) => {
            socket.terminate();
            closed();
          },
          close: closed,
          error: closed,
        },
      });
    } catch (err) {
      throw new ContainrError("INVALID_STATE", `attach: the container's monitor does not answer: ${(err as Error).message}`, { hint: "is the container running?" });
    } finally {
      closeSync(dirFd);
    }
    return connection;
  }

  write(data: Uint8Array | string): void {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    if (this.pending.length > 0) {
      this.pending.push(bytes);
      return;
    }
    const written = this.socket.write(bytes);
    if (written < bytes.length) this.pending.push(bytes.subarray(Math.max(written, 0)));
  }

  private flush(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const written = this.socket.write(head);
      if (written < head.length) {
        this.pending[0] = head.subarray(Math.max(written, 0));
        return;
      }
      this.pending.shift();
    }
    if (this.shutdownAfterFlush) this.socket.shutdown();
  }

  /** End our sending side once everything queued is out (the monitor sees EOF on our input). */
  shutdown(): void {
    if (this.pending.length > 0) this.shutdownAfterFlush = true;
    else this.socket.shutdown();
  }

  /** Close both sides now: the monitor sees the client hang up (a detach), not the end of its input. */
  close(): void {
    this.socket.terminate();
  }
}

/** Set the window size of a container's terminal (the monitor applies TIOCSWINSZ to the pty master). */
export async function resizeTerminal(runDir: string, rows: number, columns: number): Promise<void> {
  const { promise: done, resolve } = Promise.withResolvers<void>();
  const connection = await MonitorConnection.open(runDir, { closed: resolve });
  const request = new Uint8Array(5);
  request[0] = "w".charCodeAt(0);
  new DataView(request.buffer).setUint16(1, rows);
  new DataView(request.buffer).setUint16(3, columns);
  connection.write(request);
  connection.shutdown();
  await done;
}

/**
 * Connect to a running container's monitor. takeOverExit: this client does
 * the exit command's work itself when the exit frame arrives, removing the
 * run directory, and closes; the monitor then skips its exit command (and
 * runs it after all if the client closed without removing the directory).
 */
export async function attachTo(runDir: string, mode: AttachMode, handlers: AttachHandlers, takeOverExit = false): Promise<Attachment> {
  const reader = new FrameReader(handlers);
  const { promise: done, resolve } = Promise.withResolvers<ExitRecord | undefined>();
  const connection = await MonitorConnection.open(runDir, {
    data: (chunk) => reader.push(chunk),
    closed: () => resolve(reader.exit),
  });
  connection.write(takeOverExit ? HELLO[mode].toUpperCase() : HELLO[mode]);
  return {
    write: (data) => connection.write(data),
    endInput: () => connection.shutdown(),
    close: () => connection.close(),
    done,
  };
}
