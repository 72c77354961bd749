/**
 * Who may free a chunk of a layer stream, and when. A pull frees each 512 KiB
 * chunk (network, then decompressed) as soon as it is consumed instead of
 * waiting for the garbage collector (docs/benchmarks.md, Pull): that is only
 * correct if unpackLayer keeps nothing of a chunk once it asks for the next
 * one, and ingestLayer must never free chunks it was only lent (a layer read
 * out of an archive comes as views of the archive's own chunks).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ingestLayer } from "../../src/image/pull.ts";
import { ImageStore } from "../../src/image/store.ts";
import { unpackLayer } from "../../src/image/unpack.ts";
import { buildTree, gnuExtractLayers, gnuTarLayer, snapshot, type TreeNode } from "../helpers/layers.ts";

const big = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251);
const TREE: TreeNode[] = [
  ...Array.from({ length: 60 }, (_, i): TreeNode => ({ path: `etc/conf.d/file-${i}`, type: "file", content: `value ${i}\n`.repeat(i) })),
  { path: "usr/lib/big.so", type: "file", content: big },
  { path: `usr/share/${"a-long-directory-name-".repeat(6)}/${"a-long-file-name-".repeat(8)}`, type: "file", content: "long" },
  { path: "usr/bin/tool", type: "file", content: "#!/bin/sh\n", mode: 0o755, xattrs: { "user.note": "kept" } },
  { path: "usr/bin/tool-again", type: "hardlink", target: "usr/bin/tool" },
  { path: "bin", type: "symlink", target: "usr/bin" },
];
/** chunk sizes that cut headers, PAX records and bodies anywhere */
const SIZES = [1, 511, 513, 4096, 65_543, 300, 2, 7_000];

let work: string;
let tar: Uint8Array<ArrayBuffer>;
let gnuTree: string[];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "containr-chunks-"));
  const path = gnuTarLayer(buildTree(join(work, "tree"), TREE), join(work, "layer.tar"), "posix");
  tar = new Uint8Array(readFileSync(path)); // a plain Uint8Array: its slice() copies, a Buffer's does not
  gnuTree = snapshot(gnuExtractLayers([path], join(work, "gnu")));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function sha256(bytes: Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

/** `tar` in fresh chunks of SIZES; when the next chunk is asked for, the previous one is detached (its bytes are gone). */
function freeingStream(bytes: Uint8Array, detached: { count: number }): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  let previous: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (previous) {
          (previous.buffer as ArrayBuffer).transfer(0);
          detached.count++;
        }
        if (at >= bytes.length) return controller.close();
        previous = bytes.slice(at, at + SIZES[i++ % SIZES.length]!);
        at += previous.length;
        controller.enqueue(previous);
      },
    },
    { highWaterMark: 0 },
  );
}

describe("layer stream chunks", () => {
  test("unpackLayer holds nothing of a chunk once it asks for the next: freeing each then gives GNU tar's tree", async () => {
    const dir = join(work, "ours");
    mkdirSync(dir);
    const detached = { count: 0 };
    const result = await unpackLayer(freeingStream(tar, detached), dir);
    expect(detached.count).toBeGreaterThan(30);
    expect(result.diffId).toBe(sha256(tar));
    expect(result.size).toBe(tar.length);
    expect(snapshot(dir)).toEqual(gnuTree);
    expect(readFileSync(join(dir, "usr/lib/big.so"))).toEqual(Buffer.from(big));
  });

  test("ingestLayer leaves a lent source intact: views into one buffer, compressed or not", async () => {
    const root = mkdtempSync(join(work, "store-"));
    const store = ImageStore.open(root);
    try {
      for (const [compression, blob] of [
        ["none", tar],
        ["gzip", Bun.gzipSync(tar)],
      ] as const) {
        const original = blob.slice();
        // a layer inside a bigger buffer, lent as views of it (as a layer read out of an archive is)
        async function* views(): AsyncGenerator<Uint8Array> {
          for (let at = 0; at < blob.length; at += 4096) yield blob.subarray(at, at + 4096);
        }
        const layer = await ingestLayer(store, views(), { compression, unpack: true });
        expect(layer.diffId).toBe(sha256(tar));
        expect((blob.buffer as ArrayBuffer).detached).toBe(false);
        expect(Buffer.from(blob)).toEqual(Buffer.from(original));
        expect(snapshot(join(store.layerDir, layer.diffId.slice("sha256:".length)))).toEqual(gnuTree);
      }
    } finally {
      store.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
