/**
 * A streaming tar reader for image layers. Memory stays bounded whatever the
 * archive size: entry bodies are streamed chunk by chunk, only headers and
 * extended-header records are buffered (capped at META_LIMIT).
 *
 * Reader: 512-byte headers with checksum verification, octal and base-256
 * numbers, the ustar prefix, GNU 'L'/'K' long names and links, PAX 'x' and
 * 'g' records parsed by their length (path, linkpath, size, uid, gid, uname,
 * gname, mtime with fractions, SCHILY.xattr.* and LIBARCHIVE.xattr.*), all
 * entry types. A missing end-of-archive block or a short header or body is
 * an INVALID_ARCHIVE error, never a silent end.
 */
import { ContainrError } from "../diag/errors.ts";
import { applyPax, BLOCK, checksumMatches, cString, EMPTY, invalid, isZeroBlock, parseHeader, parseNumber, parsePax, type PaxRecords, type TarEntryType, type TarHeader, TYPES, utf8 } from "./tar-header.ts";

export interface TarEntry extends TarHeader {
  /** The body, streamed; may be read once, before the next entry is requested (unread bodies are skipped). */
  body(): AsyncGenerator<Uint8Array>;
  /** The whole body in memory (for small entries only). */
  bytes(): Promise<Uint8Array>;
}

/** Largest extended header ('x', 'g', 'L', 'K') we buffer: xattr values are at most 64 KiB on Linux. */
const META_LIMIT = 1 << 20;

/** Pulls bytes from a stream in the sizes the tar format asks for, copying only across chunk boundaries. */
class ByteSource {
  private readonly reader: {
    read(): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }>;
    releaseLock(): void;
    cancel(reason?: unknown): Promise<void>;
  };
  private chunk: Uint8Array = EMPTY;
  private offset = 0;
  /** bytes handed out so far */
  position = 0;

  constructor(
    stream: ReadableStream<Uint8Array>,
    private readonly observe?: (chunk: Uint8Array) => void,
  ) {
    this.reader = stream.getReader() as ByteSource["reader"];
  }

  /** false at the end of the stream */
  private async fill(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      const { done, value } = await this.reader.read();
      if (done) return false;
      this.observe?.(value);
      this.chunk = value;
      this.offset = 0;
    }
    return true;
  }

  /** Up to max bytes (at least 1), or null at the end of the stream. */
  async readSome(max: number): Promise<Uint8Array | null> {
    if (!(await this.fill())) return null;
    const n = Math.min(max, this.chunk.length - this.offset);
    const out = this.chunk.subarray(this.offset, this.offset + n);
    this.offset += n;
    this.position += n;
    return out;
  }

  /** Exactly n bytes; null if the stream ends before the first one; an error if it ends in between. */
  async readExact(n: number, what: string): Promise<Uint8Array | null> {
    const first = await this.readSome(n);
    if (first === null) return null;
    if (first.length === n) return first;
    const out = new Uint8Array(n);
    out.set(first);
    let got = first.length;
    while (got < n) {
      const more = await this.readSome(n - got);
      if (more === null) throw invalid(`${what} is truncated: the archive ends after ${this.position} bytes`);
      out.set(more, got);
      got += more.length;
    }
    return out;
  }

  async skip(n: number, what: string): Promise<void> {
    while (n > 0) {
      const got = await this.readSome(n);
      if (got === null) throw invalid(`${what} is truncated: the archive ends after ${this.position} bytes`);
      n -= got.length;
    }
  }

  /** Read the rest of the stream (so an observer sees every byte, e.g. for the layer digest). */
  async drain(): Promise<void> {
    while ((await this.readSome(1 << 20)) !== null);
  }

  release(): void {
    this.reader.releaseLock();
  }

  async cancel(reason: unknown): Promise<void> {
    await this.reader.cancel(reason).catch(() => {});
  }
}

interface PendingMeta {
  longName?: Uint8Array;
  longLink?: Uint8Array;
  pax?: PaxRecords;
}

export interface ReadTarOptions {
  /** called with every chunk of the input, in order, including bytes after the end-of-archive blocks */
  observe?: (chunk: Uint8Array) => void;
}

/**
 * The entries of a tar stream, in order. Each entry's body must be read (or
 * is skipped) before the next one is produced. Throws INVALID_ARCHIVE for a
 * bad checksum, a malformed field or record, an unknown entry type, or an
 * archive that ends early. After the end-of-archive block the rest of the
 * stream is read and ignored, as GNU tar does.
 */
export async function* readTar(stream: ReadableStream<Uint8Array>, options: ReadTarOptions = {}): AsyncGenerator<TarEntry> {
  const src = new ByteSource(stream, options.observe);
  const globalPax: PaxRecords = new Map();
  let pending: PendingMeta = {};
  let finished = false;
  try {
    for (;;) {
      const at = src.position;
      const block = await src.readExact(BLOCK, `tar header at byte ${at}`);
      if (block === null) throw invalid(`the archive ends after ${at} bytes without an end-of-archive block`);
      if (isZeroBlock(block)) {
        await src.drain();
        finished = true;
        return;
      }
      if (!checksumMatches(block)) throw invalid(`tar header at byte ${at} has a bad checksum (not a tar archive, or corrupt)`);
      const flag = String.fromCharCode(block[156]!);
      const size = parseNumber(block, 124, 12, "size");

      if (flag === "L" || flag === "K" || flag === "x" || flag === "g") {
        if (size > META_LIMIT) throw invalid(`extended header at byte ${at} is ${size} bytes, more than ${META_LIMIT}`);
        const padded = Math.ceil(size / BLOCK) * BLOCK;
        const data = padded ? await src.readExact(padded, `extended header at byte ${at}`) : EMPTY;
        if (data === null) throw invalid(`extended header at byte ${at} is truncated`);
        const body = data.slice(0, size);
        if (flag === "L") pending.longName = cString(body, 0, body.length).slice();
        else if (flag === "K") pending.longLink = cString(body, 0, body.length).slice();
        else if (flag === "x") pending.pax = parsePax(body, pending.pax);
        else parsePax(body, globalPax);
        continue;
      }

      const type = TYPES[flag];
      if (type === undefined) {
        throw invalid(`tar entry at byte ${at} has unsupported type '${flag.replace(/[^\x20-\x7e]/g, "?")}'`);
      }
      const header = parseHeader(block, type, size);
      if (pending.longName) header.nameBytes = pending.longName;
      if (pending.longLink) header.linknameBytes = pending.longLink;
      applyPax(header, globalPax);
      if (pending.pax) applyPax(header, pending.pax);
      pending = {};
      // Only regular files carry data: the other types' size field is ignored, as Go's archive/tar does.
      if (type !== "file") header.size = 0;
      header.name = utf8.decode(header.nameBytes);
      header.linkname = utf8.decode(header.linknameBytes);
      const dataPadded = Math.ceil(header.size / BLOCK) * BLOCK;
      const entry = new Body(src, header, header.size, dataPadded - header.size);
      yield entry;
      await entry.finish();
    }
  } finally {
    if (!finished) await src.cancel("tar reading stopped");
    else src.release();
  }
}

/** An entry handed to the caller, with its body still in the stream. */
class Body implements TarEntry {
  name!: string;
  nameBytes!: Uint8Array;
  type!: TarEntryType;
  mode!: number;
  uid!: number;
  gid!: number;
  size!: number;
  mtime!: number;
  mtimeNsec!: number;
  uname!: string;
  gname!: string;
  linkname!: string;
  linknameBytes!: Uint8Array;
  devmajor!: number;
  devminor!: number;
  xattrs!: Map<string, Uint8Array>;
  private remaining: number;
  private started = false;

  constructor(
    private readonly src: ByteSource,
    header: TarHeader,
    size: number,
    private readonly padding: number,
  ) {
    Object.assign(this, header);
    this.remaining = size;
  }

  async *body(): AsyncGenerator<Uint8Array> {
    if (this.started) throw new ContainrError("INTERNAL", `the body of tar entry ${JSON.stringify(this.name)} was already read`);
    this.started = true;
    while (this.remaining > 0) {
      const chunk = await this.src.readSome(Math.min(this.remaining, 1 << 20));
      if (chunk === null) throw invalid(`the body of tar entry ${JSON.stringify(this.name)} is truncated (${this.remaining} bytes missing)`);
      this.remaining -= chunk.length;
      yield chunk;
    }
  }

  async bytes(): Promise<Uint8Array> {
    const out = new Uint8Array(this.remaining);
    let at = 0;
    for await (const chunk of this.body()) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /** Skip whatever the caller did not read, and the padding. */
  async finish(): Promise<void> {
    await this.src.skip(this.remaining + this.padding, `tar entry ${JSON.stringify(this.name)}`);
    this.remaining = 0;
  }
}
