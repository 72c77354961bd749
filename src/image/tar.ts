/**
 * A streaming tar reader and writer for image layers (POSIX ustar, PAX and
 * the GNU extensions that real layers use). Memory stays bounded whatever
 * the archive size: entry bodies are streamed chunk by chunk, only headers
 * and extended-header records are buffered (capped at META_LIMIT).
 *
 * Reader: 512-byte headers with checksum verification, octal and base-256
 * numbers, the ustar prefix, GNU 'L'/'K' long names and links, PAX 'x' and
 * 'g' records parsed by their length (path, linkpath, size, uid, gid, uname,
 * gname, mtime with fractions, SCHILY.xattr.* and LIBARCHIVE.xattr.*), all
 * entry types. A missing end-of-archive block or a short header or body is
 * an INVALID_ARCHIVE error, never a silent end.
 *
 * Writer: ustar headers, with a PAX header in front when a value does not
 * fit (name or link over 100 bytes, ids over 2097151, size over 8 GiB,
 * user/group names over 32 bytes, xattrs); entries from a directory tree in
 * byte order of their names, so the same tree always gives the same bytes.
 *
 * Names are bytes in a tar; `name`/`linkname` are their UTF-8 decoding for
 * display, `nameBytes`/`linknameBytes` the exact bytes.
 */
import { closeSync, constants, lstatSync, openSync, readSync, readdirSync, readlinkSync, type BigIntStats } from "node:fs";
import { ContainrError } from "../diag/errors.ts";
import { readXattrs } from "../native/fs.ts";

export type TarEntryType = "file" | "hardlink" | "symlink" | "char" | "block" | "dir" | "fifo";

export interface TarHeader {
  name: string;
  nameBytes: Uint8Array;
  type: TarEntryType;
  /** permission bits with setuid, setgid and sticky (mode & 0o7777) */
  mode: number;
  uid: number;
  gid: number;
  /** bytes of body (0 for every type but "file") */
  size: number;
  /** modification time: whole seconds since the epoch, and the nanoseconds beyond them */
  mtime: number;
  mtimeNsec: number;
  uname: string;
  gname: string;
  /** target of a symlink, or the earlier entry a hardlink points to */
  linkname: string;
  linknameBytes: Uint8Array;
  devmajor: number;
  devminor: number;
  /** extended attributes (SCHILY.xattr.NAME), values as raw bytes */
  xattrs: Map<string, Uint8Array>;
}

export interface TarEntry extends TarHeader {
  /** The body, streamed; may be read once, before the next entry is requested (unread bodies are skipped). */
  body(): AsyncGenerator<Uint8Array>;
  /** The whole body in memory (for small entries only). */
  bytes(): Promise<Uint8Array>;
}

const BLOCK = 512;
/** Largest extended header ('x', 'g', 'L', 'K') we buffer: xattr values are at most 64 KiB on Linux. */
const META_LIMIT = 1 << 20;
const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

function invalid(message: string, hint = "the archive is corrupt or truncated; fetch or build it again"): ContainrError {
  return new ContainrError("INVALID_ARCHIVE", message, { hint });
}

// --- reading --------------------------------------------------------------------------------------------

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

function cString(block: Uint8Array, offset: number, length: number): Uint8Array {
  const field = block.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

/** An octal field (leading spaces/NULs, terminated by space or NUL) or a GNU base-256 one (high bit set). */
export function parseNumber(block: Uint8Array, offset: number, length: number, field: string): number {
  const first = block[offset]!;
  if (first & 0x80) {
    const negative = (first & 0x40) !== 0;
    let value = BigInt((negative ? first | ~0x7f : first & 0x7f) & 0xff);
    if (negative) value -= 256n;
    for (let i = 1; i < length; i++) value = value * 256n + BigInt(block[offset + i]!);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw invalid(`tar header field ${field} is out of range`);
    }
    return Number(value);
  }
  let i = offset;
  const end = offset + length;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = block[i]!;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) throw invalid(`tar header field ${field} is not an octal number`);
    value = value * 8 + (c - 0x30);
    digits++;
  }
  if (digits === 0) return 0;
  return value;
}

function checksumMatches(block: Uint8Array): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  const stored = parseNumber(block, 148, 8, "chksum");
  return stored === unsigned || stored === signed;
}

function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

type PaxRecords = Map<string, Uint8Array>;

/** PAX records "LEN KEY=VALUE\n", each read by its length so values may hold spaces, '=' or binary bytes. */
export function parsePax(data: Uint8Array, into: PaxRecords = new Map()): PaxRecords {
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // NUL padding after the last record
    let len = 0;
    let i = pos;
    while (i < data.length && data[i]! >= 0x30 && data[i]! <= 0x39) len = len * 10 + (data[i++]! - 0x30);
    if (i === pos || data[i] !== 0x20 || len <= i - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw invalid(`PAX extended header record at byte ${pos} is malformed`);
    }
    const record = data.subarray(i + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw invalid(`PAX extended header record at byte ${pos} has no key`);
    into.set(utf8.decode(record.subarray(0, eq)), record.subarray(eq + 1));
    pos += len;
  }
  return into;
}

function paxText(v: Uint8Array): string {
  return utf8.decode(v);
}

function paxInteger(key: string, v: Uint8Array): number {
  const s = paxText(v);
  if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) throw invalid(`PAX record ${key}=${s} is not a valid number`);
  return Number(s);
}

/** "1700000000.123456789" or "-1.5" into whole seconds (floored) and nanoseconds. */
function paxTime(key: string, v: Uint8Array): [number, number] {
  const s = paxText(v);
  const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(s);
  if (!m) throw invalid(`PAX record ${key}=${s} is not a valid time`);
  let sec = Number(m[2]);
  let nsec = Number((m[3] ?? "").padEnd(9, "0").slice(0, 9));
  if (m[1] === "-") {
    sec = -sec;
    if (nsec > 0) {
      sec -= 1;
      nsec = 1_000_000_000 - nsec;
    }
  }
  return [sec, nsec];
}

interface PendingMeta {
  longName?: Uint8Array;
  longLink?: Uint8Array;
  pax?: PaxRecords;
}

function applyPax(h: TarHeader, records: PaxRecords): void {
  for (const [key, value] of records) {
    if (key.startsWith("SCHILY.xattr.")) {
      h.xattrs.set(key.slice("SCHILY.xattr.".length), value);
      continue;
    }
    if (key.startsWith("LIBARCHIVE.xattr.")) {
      h.xattrs.set(decodeURIComponent(key.slice("LIBARCHIVE.xattr.".length)), Buffer.from(paxText(value), "base64"));
      continue;
    }
    if (key.startsWith("GNU.sparse.")) {
      throw invalid(`entry ${JSON.stringify(h.name)} is a sparse file, which is not supported`, "build the layer without --sparse");
    }
    if (value.length === 0) continue; // an empty value removes a global setting: the header's own value stands
    switch (key) {
      case "path":
        h.nameBytes = value;
        break;
      case "linkpath":
        h.linknameBytes = value;
        break;
      case "size":
        h.size = paxInteger(key, value);
        break;
      case "uid":
        h.uid = paxInteger(key, value);
        break;
      case "gid":
        h.gid = paxInteger(key, value);
        break;
      case "uname":
        h.uname = paxText(value);
        break;
      case "gname":
        h.gname = paxText(value);
        break;
      case "mtime":
        [h.mtime, h.mtimeNsec] = paxTime(key, value);
        break;
    }
  }
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

function parseHeader(block: Uint8Array, type: TarEntryType, size: number): TarHeader {
  const magic = Buffer.from(block.subarray(257, 263)).toString("latin1");
  let nameBytes = cString(block, 0, 100);
  // POSIX ustar ("ustar\0") keeps a path prefix at 345; GNU ("ustar  \0") uses that space for other fields.
  if (magic === "ustar\0") {
    const prefix = cString(block, 345, 155);
    if (prefix.length) {
      const joined = new Uint8Array(prefix.length + 1 + nameBytes.length);
      joined.set(prefix);
      joined[prefix.length] = 0x2f;
      joined.set(nameBytes, prefix.length + 1);
      nameBytes = joined;
    }
  }
  const ustar = magic.startsWith("ustar");
  return {
    name: "",
    nameBytes: nameBytes.slice(),
    type,
    mode: parseNumber(block, 100, 8, "mode") & 0o7777,
    uid: parseNumber(block, 108, 8, "uid"),
    gid: parseNumber(block, 116, 8, "gid"),
    size,
    mtime: parseNumber(block, 136, 12, "mtime"),
    mtimeNsec: 0,
    uname: ustar ? utf8.decode(cString(block, 265, 32)) : "",
    gname: ustar ? utf8.decode(cString(block, 297, 32)) : "",
    linkname: "",
    linknameBytes: cString(block, 157, 100).slice(),
    devmajor: ustar && (type === "char" || type === "block") ? parseNumber(block, 329, 8, "devmajor") : 0,
    devminor: ustar && (type === "char" || type === "block") ? parseNumber(block, 337, 8, "devminor") : 0,
    xattrs: new Map(),
  };
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

// --- writing --------------------------------------------------------------------------------------------

export interface TarHeaderInput {
  name: string | Uint8Array;
  type: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  /** body size; for "file" only */
  size?: number;
  mtime?: number;
  uname?: string;
  gname?: string;
  linkname?: string | Uint8Array;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Uint8Array>;
}

const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

function bytesOf(v: string | Uint8Array | undefined): Uint8Array {
  if (v === undefined) return EMPTY;
  return typeof v === "string" ? encoder.encode(v) : v;
}

function writeOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  const s = Math.max(0, Math.trunc(value)).toString(8).padStart(length - 1, "0");
  block.set(encoder.encode(s), offset);
  block[offset + length - 1] = 0;
}

function writeField(block: Uint8Array, offset: number, length: number, value: Uint8Array): void {
  block.set(value.subarray(0, length), offset);
}

const TYPE_FLAGS: Record<TarEntryType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

function ustarBlock(name: Uint8Array, flag: string, h: TarHeaderInput, size: number, link: Uint8Array): Uint8Array {
  const block = new Uint8Array(BLOCK);
  writeField(block, 0, 100, name);
  writeOctal(block, 100, 8, (h.mode ?? 0) & 0o7777);
  const uid = h.uid ?? 0;
  const gid = h.gid ?? 0;
  writeOctal(block, 108, 8, uid > MAX_OCTAL_8 ? 0 : uid);
  writeOctal(block, 116, 8, gid > MAX_OCTAL_8 ? 0 : gid);
  writeOctal(block, 124, 12, size > MAX_OCTAL_12 ? 0 : size);
  const mtime = h.mtime ?? 0;
  writeOctal(block, 136, 12, mtime < 0 || mtime > MAX_OCTAL_12 ? 0 : mtime);
  block.fill(0x20, 148, 156);
  block[156] = flag.charCodeAt(0);
  writeField(block, 157, 100, link);
  block.set(encoder.encode("ustar\x0000"), 257);
  writeField(block, 265, 32, encoder.encode(h.uname ?? ""));
  writeField(block, 297, 32, encoder.encode(h.gname ?? ""));
  if (h.type === "char" || h.type === "block") {
    writeOctal(block, 329, 8, h.devmajor ?? 0);
    writeOctal(block, 337, 8, h.devminor ?? 0);
  }
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  const chk = sum.toString(8).padStart(6, "0");
  block.set(encoder.encode(chk), 148);
  block[154] = 0;
  block[155] = 0x20;
  return block;
}

/** One PAX record "LEN KEY=VALUE\n", where LEN counts its own digits. */
function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const k = encoder.encode(key);
  const rest = k.length + value.length + 3; // ' ', '=', '\n'
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  const out = new Uint8Array(len);
  const head = encoder.encode(`${len} `);
  out.set(head);
  out.set(k, head.length);
  out[head.length + k.length] = 0x3d;
  out.set(value, head.length + k.length + 1);
  out[len - 1] = 0x0a;
  return out;
}

function padTo(data: Uint8Array): Uint8Array {
  const padded = new Uint8Array(Math.ceil(data.length / BLOCK) * BLOCK);
  padded.set(data);
  return padded;
}

/** The header block(s) of one entry: a PAX header first when some value does not fit ustar. */
export function encodeHeader(h: TarHeaderInput): Uint8Array {
  let name = bytesOf(h.name);
  if (h.type === "dir" && name[name.length - 1] !== 0x2f) name = Buffer.concat([name, new Uint8Array([0x2f])]);
  const link = bytesOf(h.linkname);
  const size = h.type === "file" ? (h.size ?? 0) : 0;
  const records: Uint8Array[] = [];
  if (name.length > 100) records.push(paxRecord("path", name));
  if (link.length > 100) records.push(paxRecord("linkpath", link));
  if ((h.uid ?? 0) > MAX_OCTAL_8) records.push(paxRecord("uid", encoder.encode(String(h.uid))));
  if ((h.gid ?? 0) > MAX_OCTAL_8) records.push(paxRecord("gid", encoder.encode(String(h.gid))));
  if (size > MAX_OCTAL_12) records.push(paxRecord("size", encoder.encode(String(size))));
  const mtime = h.mtime ?? 0;
  if (mtime < 0 || mtime > MAX_OCTAL_12) records.push(paxRecord("mtime", encoder.encode(String(mtime))));
  if (encoder.encode(h.uname ?? "").length > 32) records.push(paxRecord("uname", encoder.encode(h.uname!)));
  if (encoder.encode(h.gname ?? "").length > 32) records.push(paxRecord("gname", encoder.encode(h.gname!)));
  for (const key of [...(h.xattrs?.keys() ?? [])].sort()) records.push(paxRecord(`SCHILY.xattr.${key}`, h.xattrs!.get(key)!));
  const main = ustarBlock(name, TYPE_FLAGS[h.type], h, size, link);
  if (records.length === 0) return main;
  const data = Buffer.concat(records);
  // GNU tar and Go name the extended header after the entry; readers that ignore PAX see a plain file.
  const base = name.subarray(name.lastIndexOf(0x2f, name.length - 2) + 1).subarray(0, 80);
  const paxName = Buffer.concat([encoder.encode("PaxHeaders.0/"), base]);
  const paxHeader = ustarBlock(paxName, "x", { name: paxName, type: "file", mode: 0o644, mtime: mtime < 0 || mtime > MAX_OCTAL_12 ? 0 : mtime }, data.length, EMPTY);
  return Buffer.concat([paxHeader, padTo(data), main]);
}

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
   */
  async addTree(dir: string, options: AddTreeOptions = {}): Promise<void> {
    const seen = new Map<string, Uint8Array>();
    const prefix = encoder.encode(options.prefix ?? "");
    const root = Buffer.from(dir);
    const walk = async (rel: Uint8Array): Promise<void> => {
      const hostDir = rel.length ? Buffer.concat([root, Buffer.from("/"), rel]) : root;
      const names = readdirSync(hostDir, { encoding: "buffer" }).sort(Buffer.compare);
      for (const n of names) {
        const childRel = rel.length ? Buffer.concat([rel, Buffer.from("/"), n]) : n;
        const host = Buffer.concat([root, Buffer.from("/"), childRel]);
        const st = lstatSync(host, { bigint: true });
        const name = Buffer.concat([prefix, childRel]);
        await this.addFromStat(host, name, st, seen, options);
        if (st.isDirectory()) await walk(childRel);
      }
    };
    await walk(EMPTY);
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
