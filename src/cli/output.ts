/**
 * The CLI's standard output and error, written synchronously. Not
 * process.stdout/stderr: the first touch of either builds a node:stream
 * WriteStream, ~10 ms of start-up on every command that prints anything.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { ContainrError } from "../diag/errors.ts";

/** Descriptors whose reader went away (EPIPE): `containr ps | head -1` ends quietly, as docker's does. */
const closed = new Set<number>();

/** false once the reader went away */
function writeAll(fd: number, data: string | Uint8Array): boolean {
  if (closed.has(fd)) return false;
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EPIPE") {
        closed.add(fd);
        return false;
      }
      // a descriptor inherited in non-blocking mode: wait for room
      if (code === "EAGAIN") Bun.sleepSync(1);
      else if (code !== "EINTR") throw err;
    }
  }
  return true;
}

export function writeStdout(data: string | Uint8Array): void {
  writeAll(1, data);
}

export function writeStderr(data: string | Uint8Array): void {
  writeAll(2, data);
}

/**
 * An archive (save, export) to `output`, written to a temp file next to it
 * and renamed at the end, so a failure leaves no half archive; without
 * `output` to stdout, which must not be a terminal (Docker's rule).
 */
export async function writeArchive(output: string | undefined, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  if (output === undefined && process.stdout.isTTY) {
    throw new ContainrError("USAGE", "refusing to write an archive to a terminal", { hint: "use -o FILE or redirect stdout" });
  }
  if (output === undefined) {
    for await (const chunk of chunks) if (!writeAll(1, chunk)) return;
    return;
  }
  const tmp = `${output}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o644);
  try {
    for await (const chunk of chunks) writeAll(fd, chunk);
    closeSync(fd);
    renameSync(tmp, output);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}
