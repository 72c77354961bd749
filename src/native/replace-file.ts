/**
 * Replacing a file so that a reader (or a restart after a crash) sees either
 * the old content or all of the new: the data goes to a temp file beside the
 * target, named for this process, is fsynced (unless `durable: false`: for
 * files that a reboot makes stale anyway, where the fsync only costs time),
 * and is renamed over it.
 * Plain node:fs; it lives here, the lowest layer, so that every layer can use it.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";

export function replaceFile(path: string, data: string | Uint8Array, mode: number, options: { durable?: boolean } = {}): void {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", mode);
  try {
    writeAll(fd, bytes);
    if (options.durable !== false) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** write(2) until all of bytes is written: one call may write less. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.byteLength; ) done += writeSync(fd, bytes, done);
}
