/**
 * The tar header format, both ways: 512-byte ustar blocks (octal and GNU
 * base-256 numbers, the ustar prefix, checksums), PAX records, and the
 * header fields a reader decodes and a writer encodes.
 *
 * Names are bytes in a tar; `name`/`linkname` are their UTF-8 decoding for
 * display, `nameBytes`/`linknameBytes` the exact bytes.
 */
import { ContainrError } from "../diag/errors.ts";

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

export const BLOCK = 512;
export const EMPTY = new Uint8Array(0);
export const utf8 = new TextDecoder("utf-8");
export const encoder = new TextEncoder();

export function invalid(message: string, hint = "the archive is corrupt or truncated; fetch or build it again"): ContainrError {
  return new ContainrError("INVALID_ARCHIVE", message, { hint });
}

export function cString(block: Uint8Array, offset: number, length: number): Uint8Array {
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

export function checksumMatches(block: Uint8Array): boolean {
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

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

export const TYPES: Record<string, TarEntryType> = {
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

export type PaxRecords = Map<string, Uint8Array>;

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

export function applyPax(h: TarHeader, records: PaxRecords): void {
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

export function parseHeader(block: Uint8Array, type: TarEntryType, size: number): TarHeader {
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
