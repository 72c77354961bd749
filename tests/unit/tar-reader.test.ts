/**
 * The streaming tar reader on archives from the project's writer, from GNU
 * tar (gnu long names, ustar prefixes, PAX) and hand-patched headers
 * (base-256 numbers, global PAX headers, bad checksums, truncation).
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeHeader, readTar, TarWriter, type TarEntry, type TarHeaderInput } from "../../src/image/tar.ts";

const END = new Uint8Array(1024);

function streamOf(...parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new Blob(parts).stream();
}

async function entriesOf(stream: ReadableStream<Uint8Array>): Promise<Array<TarEntry & { data: string }>> {
  const out: Array<TarEntry & { data: string }> = [];
  for await (const e of readTar(stream)) out.push(Object.assign(e, { data: Buffer.from(await e.bytes()).toString("latin1") }));
  return out;
}

async function written(entries: Array<[TarHeaderInput, Uint8Array?]>): Promise<Uint8Array> {
  const w = new TarWriter();
  const all = new Response(w.stream).arrayBuffer();
  for (const [h, body] of entries) await w.add(h, body);
  await w.close();
  return new Uint8Array(await all);
}

function withChecksum(block: Uint8Array): Uint8Array {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.set(Buffer.from(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
  return block;
}

function paxBody(records: Record<string, string>): Uint8Array {
  return Buffer.concat(
    Object.entries(records).map(([k, v]) => {
      const rest = Buffer.byteLength(` ${k}=${v}\n`);
      let len = rest + String(rest).length;
      if (String(len).length !== String(rest).length) len = rest + String(len).length;
      return Buffer.from(`${len} ${k}=${v}\n`);
    }),
  );
}

/** An extended header block of type flag `flag` carrying body, padded. */
function metaHeader(flag: string, body: Uint8Array): Uint8Array {
  const block = encodeHeader({ name: "meta", type: "file", size: body.length, mode: 0o644 }).slice(0, 512);
  block[156] = flag.charCodeAt(0);
  const padded = new Uint8Array(Math.ceil(body.length / 512) * 512);
  padded.set(body);
  return Buffer.concat([withChecksum(block), padded]);
}

describe("readTar", () => {
  test("reads back what the writer wrote: every type, PAX long names and links, big ids, binary xattrs", async () => {
    const long = `dir/${"n".repeat(150)}`;
    const cap = new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const tar = await written([
      [{ name: "dir", type: "dir", mode: 0o1777, mtime: 1_700_000_000 }],
      [{ name: long, type: "file", mode: 0o4755, uid: 3_000_000, gid: 2_097_152, uname: "u".repeat(40), xattrs: new Map([["security.capability", cap]]) }, Buffer.from("body")],
      [{ name: "sym", type: "symlink", linkname: `/${"t".repeat(200)}` }],
      [{ name: "hard", type: "hardlink", linkname: long }],
      [{ name: "null", type: "char", mode: 0o666, devmajor: 1, devminor: 3 }],
      [{ name: "sda", type: "block", devmajor: 8, devminor: 0 }],
      [{ name: "fifo", type: "fifo", mode: 0o600 }],
    ]);
    const e = await entriesOf(streamOf(tar));
    expect(e.map((x) => [x.name, x.type])).toEqual([
      ["dir/", "dir"],
      [long, "file"],
      ["sym", "symlink"],
      ["hard", "hardlink"],
      ["null", "char"],
      ["sda", "block"],
      ["fifo", "fifo"],
    ]);
    expect(e[0]!.mode).toBe(0o1777);
    expect(e[0]!.mtime).toBe(1_700_000_000);
    expect(e[1]!).toMatchObject({ mode: 0o4755, uid: 3_000_000, gid: 2_097_152, size: 4, data: "body", uname: "u".repeat(40) });
    expect(e[1]!.xattrs.get("security.capability")).toEqual(cap);
    expect(e[2]!.linkname).toBe(`/${"t".repeat(200)}`);
    expect(e[3]!.linkname).toBe(long);
    expect([e[4]!.devmajor, e[4]!.devminor, e[5]!.devmajor]).toEqual([1, 3, 8]);
  });

  test("sizes over 8 GiB travel in PAX; the body is streamed, never buffered", async () => {
    const header = encodeHeader({ name: "huge", type: "file", size: 9 * 2 ** 30 });
    expect(Buffer.from(header).toString("latin1")).toContain(`size=${9 * 2 ** 30}\n`);
    for await (const e of readTar(streamOf(header))) {
      expect(e.size).toBe(9 * 2 ** 30);
      break;
    }
  });

  test("memory stays bounded on a 512 MiB entry", async () => {
    const size = 512 * 2 ** 20;
    const chunk = new Uint8Array(2 ** 20);
    let sent = 0;
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(encodeHeader({ name: "big", type: "file", size }));
      },
      pull(c) {
        if (sent < size) {
          sent += chunk.length;
          c.enqueue(chunk);
        } else {
          c.enqueue(END);
          c.close();
        }
      },
    });
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    let got = 0;
    for await (const e of readTar(source)) for await (const part of e.body()) got += part.length;
    expect(got).toBe(size);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
  });

  test("base-256 numbers (GNU binary) for uid, gid, size and a negative mtime", async () => {
    const block = encodeHeader({ name: "b256", type: "file", size: 0 }).slice();
    const b256 = (offset: number, length: number, value: bigint) => {
      let v = value < 0n ? (1n << BigInt(length * 8)) + value : value;
      for (let i = length - 1; i >= 0; i--, v >>= 8n) block[offset + i] = Number(v & 0xffn);
      block[offset] = value < 0n ? block[offset]! | 0xc0 : 0x80;
    };
    b256(108, 8, 5_000_000_000n);
    b256(116, 8, 70_000n);
    b256(124, 12, 3n);
    b256(136, 12, -100n);
    const body = new Uint8Array(512);
    body.set(Buffer.from("abc"));
    const [e] = await entriesOf(streamOf(withChecksum(block), body, END));
    expect(e).toMatchObject({ uid: 5_000_000_000, gid: 70_000, size: 3, data: "abc", mtime: -100 });
  });

  test("PAX records are read by length: spaces, '=', newlines, fractional and negative times, global headers", async () => {
    const local = paxBody({ path: "a dir/with = signs\nand newline", mtime: "1700000000.123456789", "SCHILY.xattr.user.k": "v = w" });
    const global = paxBody({ uid: "4242", gname: "global-group" });
    const first = encodeHeader({ name: "ignored", type: "file", size: 0, uid: 1 });
    const second = encodeHeader({ name: "second", type: "file", size: 0 });
    const negative = paxBody({ mtime: "-1.25" });
    const third = encodeHeader({ name: "third", type: "file", size: 0, uid: 7 });
    const e = await entriesOf(streamOf(metaHeader("g", global), metaHeader("x", local), first, second, metaHeader("x", negative), third, END));
    expect(e[0]!).toMatchObject({ name: "a dir/with = signs\nand newline", mtime: 1_700_000_000, mtimeNsec: 123_456_789, uid: 4242, gname: "global-group" });
    expect(Buffer.from(e[0]!.xattrs.get("user.k")!).toString()).toBe("v = w");
    expect(e[1]!).toMatchObject({ name: "second", uid: 4242 });
    expect(e[2]!).toMatchObject({ name: "third", mtime: -2, mtimeNsec: 750_000_000, uid: 4242 });
  });

  test("GNU 'L'/'K' long names and links, and ustar prefix+name, from GNU tar", async () => {
    const dir = mkdtempSync(join(tmpdir(), "containr-tar-unit-"));
    try {
      const deep = `${"p".repeat(90)}/${"q".repeat(50)}`;
      for (const format of ["gnu", "ustar"]) {
        const tree = join(dir, format);
        mkdirSync(join(tree, deep), { recursive: true });
        writeFileSync(join(tree, deep, "f"), "x");
        // ustar has no long links: its link target fits the 100-byte field.
        const target = format === "gnu" ? `${deep}/f` : "short";
        symlinkSync(target, join(tree, "link"));
        const out = join(dir, `${format}.tar`);
        const r = Bun.spawnSync(["tar", `--format=${format}`, "--sort=name", "-cf", out, "-C", tree, "."]);
        expect(r.stderr.toString()).toBe("");
        const e = await entriesOf(Bun.file(out).stream());
        expect(e.map((x) => x.name)).toEqual(["./", "./link", `./${"p".repeat(90)}/`, `./${deep}/`, `./${deep}/f`]);
        expect(e[1]!.linkname).toBe(target);
        expect(e[4]!.data).toBe("x");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("unread bodies are skipped; bytes after the end-of-archive block are read (for the digest) and ignored", async () => {
    const tar = await written([
      [{ name: "a", type: "file" }, Buffer.from("a".repeat(1000))],
      [{ name: "b", type: "file" }, Buffer.from("b")],
    ]);
    const trailing = new Uint8Array(4096).fill(7);
    let observed = 0;
    const names: string[] = [];
    for await (const e of readTar(streamOf(tar, trailing), { observe: (c) => (observed += c.length) })) names.push(e.name);
    expect(names).toEqual(["a", "b"]);
    expect(observed).toBe(tar.length + trailing.length);
  });

  test("errors: bad checksum, truncated header, truncated body, missing end, unknown type", async () => {
    const tar = await written([[{ name: "f", type: "file" }, Buffer.from("x".repeat(600))]]);
    const corrupt = tar.slice();
    corrupt[0] = 0x41;
    const unknown = encodeHeader({ name: "v", type: "file", size: 0 }).slice();
    unknown[156] = "V".charCodeAt(0);
    const cases: Array<[Uint8Array, RegExp]> = [
      [corrupt, /bad checksum/],
      [tar.subarray(0, 300), /tar header at byte 0 is truncated/],
      [tar.subarray(0, 700), /body of tar entry "f" is truncated/],
      [tar.subarray(0, 512 + 1024), /without an end-of-archive block/],
      [Buffer.concat([withChecksum(unknown), END]), /unsupported type 'V'/],
    ];
    for (const [bytes, message] of cases) {
      const err = await entriesOf(streamOf(bytes)).catch((e) => e);
      expect(err?.code).toBe("INVALID_ARCHIVE");
      expect(err.message).toMatch(message);
    }
  });
});
