/**
 * A streaming tar writer.
 *
 * Writer: ustar headers, with a PAX header in front when a value does not
 * fit (name or link over 100 bytes, ids over 2097151, size over 8 GiB,
 * user/group names over 32 bytes, xattrs); entries from a directory tree in
 * byte order of their names, so the same tree always gives the same bytes.
 */
import { closeSync, constants, lstatSync, openSync, readSync, readdirSync, readlinkSync, type BigIntStats } from "node:fs";
import { ContainrError } from "../diag/errors.ts";
import { readXattrs } from "../native/fs.ts";
import { BLOCK, EMPTY, encodeHeader, encoder, type TarEntryType, type TarHeaderInput, utf8 } from "./tar-header.ts";

export interface AddTreeOptions {
  /** prepended to every name, e.g. "./" (default: none, as Docker's export) */
  prefix?: string;
  /** host id → id written in the archive (rootless); ids without a mapping are written as they are */
  mapUid?: (uid: number) => number;
  mapGid?: (gid: number) => number;
}

/**
 * A tar archive produced as a stream. `add` and `addTree` wait while the
 * consumer of `stream` is behind (backpressure), so memory stays bounded.
 * Call `close` to write the end-of-archive blocks.
 */
export class TarWriter {
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private wake: (() => void) | undefined;
  private cancelled: unknown;
  private closed = false;

  constructor(highWaterMark = 16) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => {
          this.wake?.();
          this.wake = undefined;
        },
        cancel: (reason) => {
          this.cancelled = reason ?? new Error("cancelled");
          this.wake?.();
        },
      },
      { highWaterMark },
    );
  }

  private async push(chunk: Uint8Array): Promise<void> {
    if (this.cancelled !== undefined) throw new ContainrError("INTERNAL", "the tar stream was cancelled by its reader", { cause: this.cancelled });
    if (this.closed) throw new ContainrError("INTERNAL", "tar writer used after close");
    this.controller.enqueue(chunk);
    while ((this.controller.desiredSize ?? 1) <= 0 && this.cancelled === undefined) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** One entry; a "file" body must deliver exactly header.size bytes. */
  async add(header: TarHeaderInput, body?: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
    const size = header.type === "file" ? (header.size ?? (body instanceof Uint8Array ? body.length : 0)) : 0;
    await this.push(encodeHeader({ ...header, size }));
    let written = 0;
    if (size > 0 && body) {
      const chunks = body instanceof Uint8Array ? [body] : body;
      for await (const chunk of chunks) {
        if (written + chunk.length > size) {
          throw new ContainrError("INTERNAL", `tar entry ${show(header.name)}: the body is longer than its size ${size}`);
        }
        await this.push(chunk);
        written += chunk.length;
      }
    }
    if (written !== size) {
      throw new ContainrError("INTERNAL", `tar entry ${show(header.name)}: the body has ${written} bytes, the header says ${size}`, {
        hint: "the file changed while it was being archived; stop whatever writes to it and try again",
      });
    }
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad) await this.push(new Uint8Array(pad));
  }

  /**
   * Every entry below `dir` (not dir itself), depth first in byte order of the
   * names: directories before their contents, a second name of an inode as a
   * hardlink to the first, xattrs as SCHILY.xattr records (overlayfs' own
   * trusted.overlay.* / user.overlay.* are left out), sockets skipped as GNU
   * tar does. Symlinks are archived, never followed.
   *
   * Each directory is walked through a descriptor of its own, opened
   * O_NOFOLLOW from its parent's (/proc/self/fd/N/NAME), never by its path:
   * a running container that swaps a directory for a symlink while its tree
   * is archived (export, cp to a tar) gets an error, not the host's files.
   */
  async addTree(dir: string, options: AddTreeOptions = {}): Promise<void> {
    const seen = new Map<string, Uint8Array>();
    const prefix = encoder.encode(options.prefix ?? "");
    const walk = async (dirFd: number, rel: Uint8Array): Promise<void> => {
      const base = Buffer.from(`/proc/self/fd/${dirFd}/`);
      const names = readdirSync(base, { encoding: "buffer" }).sort(Buffer.compare);
      for (const n of names) {
        const childRel = rel.length ? Buffer.concat([rel, Buffer.from("/"), n]) : n;
        const host = Buffer.concat([base, n]);
        const st = lstatSync(host, { bigint: true });
        const name = Buffer.concat([prefix, childRel]);
        await this.addFromStat(host, name, st, seen, options);
        if (!st.isDirectory()) continue;
        const childFd = openSync(host, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
        try {
          await walk(childFd, childRel);
        } finally {
          closeSync(childFd);
        }
      }
    };
    const rootFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await walk(rootFd, EMPTY);
    } finally {
      closeSync(rootFd);
    }
  }

  private async addFromStat(host: Buffer, name: Uint8Array, st: BigIntStats, seen: Map<string, Uint8Array>, options: AddTreeOptions): Promise<void> {
    const type = typeOfStat(st);
    if (type === null) return;
    const header: TarHeaderInput = {
      name,
      type,
      mode: Number(st.mode) & 0o7777,
      uid: options.mapUid ? options.mapUid(Number(st.uid)) : Number(st.uid),
      gid: options.mapGid ? options.mapGid(Number(st.gid)) : Number(st.gid),
      mtime: Number(st.mtimeMs / 1000n),
      xattrs: archivedXattrs(host),
    };
    if (type !== "dir" && st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = seen.get(key);
      if (first) {
        await this.add({ ...header, type: "hardlink", linkname: first, xattrs: undefined });
        return;
      }
      seen.set(key, name);
    }
    if (type === "symlink") header.linkname = readlinkSync(host, { encoding: "buffer" });
    if (type === "char" || type === "block") {
      const rdev = st.rdev;
      header.devmajor = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
      header.devminor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
    }
    if (type !== "file") {
      await this.add(header);
      return;
    }
    header.size = Number(st.size);
    const fd = openSync(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NOCTTY);
    try {
      await this.add(header, fileChunks(fd, header.size));
    } finally {
      closeSync(fd);
    }
  }

  /** The end-of-archive marker (two zero blocks), then the end of the stream. */
  async close(): Promise<void> {
    await this.push(new Uint8Array(2 * BLOCK));
    this.closed = true;
    this.controller.close();
  }

  /** End the stream with an error (the reader sees it). */
  abort(err: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.controller.error(err);
  }
}

function typeOfStat(st: BigIntStats): TarEntryType | null {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  return null; // sockets
}

function archivedXattrs(host: Buffer): Map<string, Uint8Array> {
  const all = readXattrs(host);
  for (const key of [...all.keys()]) {
    if (key.startsWith("trusted.overlay.") || key.startsWith("user.overlay.")) all.delete(key);
  }
  return all;
}

/** Up to `size` bytes of a file in 64 KiB chunks (each a fresh buffer: the consumer may keep it). */
function* fileChunks(fd: number, size: number): Generator<Uint8Array> {
  let left = size;
  while (left > 0) {
    const buf = Buffer.allocUnsafe(Math.min(left, 1 << 16));
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) return;
    left -= n;
    yield buf.subarray(0, n);
  }
}

function show(name: string | Uint8Array): string {
  return JSON.stringify(typeof name === "string" ? name : utf8.decode(name));
}
