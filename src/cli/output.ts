/**
 * The CLI's standard output and error, written synchronously. Not
 * process.stdout/stderr: the first touch of either builds a node:stream
 * WriteStream, ~10 ms of start-up on every command that prints anything.
 */
import { writeSync } from "node:fs";

/** Descriptors whose reader went away (EPIPE): `containr ps | head -1` ends quietly, as docker's does. */
const closed = new Set<number>();

function writeAll(fd: number, data: string | Uint8Array): void {
  if (closed.has(fd)) return;
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EPIPE") {
        closed.add(fd);
        return;
      }
      // a descriptor inherited in non-blocking mode: wait for room
      if (code === "EAGAIN") Bun.sleepSync(1);
      else if (code !== "EINTR") throw err;
    }
  }
}

export function writeStdout(data: string | Uint8Array): void {
  writeAll(1, data);
}

export function writeStderr(data: string | Uint8Array): void {
  writeAll(2, data);
}
