/**
 * Layers built by GNU tar (gnu, posix and ustar formats) unpacked by
 * unpackLayer and mounted with overlay must give, entry by entry, the tree
 * GNU tar gives when it extracts the same layers in order and applies the
 * whiteouts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unpackLayer } from "../../src/image/unpack.ts";
import { mountOverlay, unmountOverlay } from "../../src/image/overlay.ts";
import * as fs from "../../src/native/fs.ts";
import { buildTree, CAP_NET_RAW, gnuExtractLayers, gnuTarLayer, snapshot, type TreeNode } from "../helpers/layers.ts";

const LONG_DIR = `usr/share/doc/${"long-directory-name-".repeat(4)}`;
const LONG_FILE = `${"a-file-with-a-long-name-".repeat(4)}.txt`;

/** Base layer (posix: PAX long names, xattrs): every entry type, owners, special modes, capabilities. */
const BASE: TreeNode[] = [
  { path: "bin", type: "dir" },
  { path: "bin/busybox", type: "file", content: "#!busybox\n", mode: 0o755 },
  { path: "bin/bb", type: "hardlink", target: "bin/busybox" },
  { path: "bin/sh", type: "symlink", target: "busybox" },
  { path: "bin/su", type: "file", content: "su", mode: 0o4755 },
  { path: "bin/wall", type: "file", content: "wall", mode: 0o2755, gid: 5 },
  { path: "bin/ping", type: "file", content: "ping", mode: 0o755, xattrs: { "security.capability": CAP_NET_RAW } },
  { path: "etc", type: "dir" },
  { path: "etc/passwd", type: "file", content: "root:x:0:0::/root:/bin/sh\n" },
  { path: "etc/shadow", type: "file", content: "root:*:1::::::\n", mode: 0o640, gid: 42 },
  { path: "etc/localtime", type: "symlink", target: "/usr/share/zoneinfo/UTC" },
  { path: "etc/notes", type: "file", content: "n", xattrs: { "user.comment": "a value with spaces = and\nnewline", "user.bin": new Uint8Array([0, 1, 2, 255]) } },
  { path: "lib", type: "symlink", target: "usr/lib" },
  { path: "usr/lib/libc.so", type: "file", content: "libc", mtime: 1_600_000_000.25 },
  { path: `${LONG_DIR}/${LONG_FILE}`, type: "file", content: "long" },
  { path: "tmp", type: "dir", mode: 0o1777 },
  { path: "home/user/.profile", type: "file", content: "export A=1\n", uid: 1000, gid: 1000 },
  { path: "home/user", type: "dir", mode: 0o700, uid: 1000, gid: 1000 },
  { path: "srv/nobody", type: "file", content: "x", uid: 65534, gid: 65534 },
  { path: "srv/big-ids", type: "file", content: "x", uid: 2_000_000, gid: 3_000_000 },
  { path: "dev/null", type: "char", major: 1, minor: 3, mode: 0o666 },
  { path: "dev/loop0", type: "block", major: 7, minor: 0, mode: 0o660, gid: 6 },
  { path: "run/initctl", type: "fifo", mode: 0o600 },
  { path: "opt/app/old.conf", type: "file", content: "old" },
  { path: "opt/app/keep.conf", type: "file", content: "keep" },
  { path: "opt/opq/a", type: "file", content: "a" },
  { path: "opt/opq/sub/b", type: "file", content: "b" },
  { path: "var/cache/x/y", type: "file", content: "y" },
];

/** Second layer (gnu: 'L'/'K' long names and links): whiteouts, an opaque directory, changed files. */
const UPDATE: TreeNode[] = [
  { path: "etc/passwd", type: "file", content: "root:x:0:0::/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n" },
  { path: "opt/app/.wh.old.conf", type: "file" },
  { path: "var/cache/.wh.x", type: "file" },
  { path: "opt/opq/.wh..wh..opq", type: "file" },
  { path: "opt/opq/c", type: "file", content: "c" },
  { path: `${LONG_DIR}/${LONG_FILE}.v2`, type: "file", content: "v2" },
  { path: `${LONG_DIR}/link-to-long`, type: "symlink", target: `/${LONG_DIR}/${LONG_FILE}.v2` },
  { path: `${LONG_DIR}/hard-to-long`, type: "hardlink", target: `${LONG_DIR}/${LONG_FILE}.v2` },
  { path: "bin/su", type: "file", content: "su v2", mode: 0o4750, gid: 10 },
];

/** Third layer (ustar: names split into prefix and name): a directory made private, a file replaced by a directory. */
const TOP: TreeNode[] = [
  { path: "etc", type: "dir", mode: 0o700 },
  { path: `${"p".repeat(90)}/${"q".repeat(60)}/file`, type: "file", content: "prefix" },
  { path: "srv/nobody", type: "dir", mode: 0o750 },
  { path: "srv/nobody/inside", type: "file", content: "now a directory" },
];

let work: string;
let layers: string[];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "containr-layers-"));
  layers = [
    gnuTarLayer(buildTree(join(work, "t1"), BASE), join(work, "1.tar"), "posix"),
    gnuTarLayer(buildTree(join(work, "t2"), UPDATE), join(work, "2.tar"), "gnu"),
    gnuTarLayer(buildTree(join(work, "t3"), TOP), join(work, "3.tar"), "ustar"),
  ];
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

async function unpackFile(tar: string, dir: string, options?: Parameters<typeof unpackLayer>[2]) {
  mkdirSync(dir, { recursive: true });
  return unpackLayer(Bun.file(tar).stream(), dir, options);
}

function sha256(path: string): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex")}`;
}

describe("unpackLayer against GNU tar", () => {
  test("one layer: the same tree as tar -xpf, every entry, and the diffID of the exact bytes", async () => {
    const ours = join(work, "single-ours");
    const result = await unpackFile(layers[0]!, ours);
    expect(result.diffId).toBe(sha256(layers[0]!));
    expect(result.size).toBe(readFileSync(layers[0]!).length);
    const theirs = gnuExtractLayers([layers[0]!], join(work, "single-gnu"));
    const lines = snapshot(ours);
    expect(lines).toEqual(snapshot(theirs));
    // The features are really in there (the comparison is not of two empty trees).
    expect(lines.find((l) => l.startsWith("bin/su "))).toContain(" 4755 ");
    expect(lines.find((l) => l.startsWith("bin/ping "))).toContain(`security.capability=${Buffer.from(CAP_NET_RAW).toString("hex")}`);
    expect(lines.find((l) => l.startsWith("dev/loop0 "))).toContain("block 0660 0:6 dev=7,0");
    expect(lines.find((l) => l.startsWith("bin/busybox "))).toContain("link=bin/bb");
    expect(lines.find((l) => l.startsWith("srv/big-ids "))).toContain(" 2000000:3000000 ");
    expect(lines.find((l) => l.startsWith("usr/lib/libc.so "))).toContain("mtime=1600000000250000000");
    expect(lines.find((l) => l.startsWith(`${LONG_DIR}/${LONG_FILE} `))).toBeDefined();
  });

  test("three layers (posix, gnu, ustar) mounted with overlay: the merged view is GNU tar's with whiteouts applied", async () => {
    const dirs = layers.map((_, i) => join(work, `layer${i}`));
    for (const [i, tar] of layers.entries()) await unpackFile(tar, dirs[i]!);

    // In the layer directories: overlayfs whiteouts and the opaque marker.
    const wh = fs.fileType(fs.openRoot(join(dirs[1]!, "opt/app")), "old.conf");
    expect(wh).toBe(fs.S_IFCHR);
    expect(snapshot(dirs[1]!).find((l) => l.startsWith("opt/app/old.conf "))).toContain("char 0000 0:0 dev=0,0");
    expect(Buffer.from(fs.readXattrs(join(dirs[1]!, "opt/opq")).get("trusted.overlay.opaque") ?? []).toString()).toBe("y");

    const merged = join(work, "merged");
    mkdirSync(merged);
    mountOverlay({ lowers: [...dirs].reverse(), target: merged, readonly: true });
    try {
      const ours = snapshot(merged);
      const theirs = snapshot(gnuExtractLayers(layers, join(work, "gnu-merged")));
      expect(ours).toEqual(theirs);
      const paths = ours.map((l) => l.split(" ")[0]);
      expect(paths).not.toContain("opt/app/old.conf");
      expect(paths).not.toContain("var/cache/x");
      expect(paths).not.toContain("opt/opq/a");
      expect(paths).toContain("opt/opq/c");
      expect(paths).toContain("opt/app/keep.conf");
      expect(ours.find((l) => l.startsWith("etc "))).toContain(" 0700 ");
      expect(ours.find((l) => l.startsWith("srv/nobody "))).toContain("dir 0750");
    } finally {
      unmountOverlay(merged);
    }
  });

  test("gzip and zstd layers decompressed by the caller give the same tree and the diffID of the tar", async () => {
    const plain = snapshot(gnuExtractLayers([layers[0]!], join(work, "plain-gnu")));
    for (const [format, cmd] of [
      ["gzip", ["gzip", "-c"]],
      ["zstd", ["zstd", "-q", "-c"]],
    ] as const) {
      const compressed = join(work, `1.tar.${format}`);
      Bun.spawnSync([...cmd, layers[0]!], { stdout: Bun.file(compressed) });
      const dir = join(work, `unpacked-${format}`);
      mkdirSync(dir);
      const result = await unpackLayer(Bun.file(compressed).stream().pipeThrough(new DecompressionStream(format)), dir);
      expect(result.diffId).toBe(sha256(layers[0]!));
      expect(snapshot(dir)).toEqual(plain);
    }
  });

  test("rootless: no device nodes, the opaque marker in user.overlay.opaque, ids shifted by the mapping", async () => {
    const base = join(work, "rootless-base");
    await unpackFile(layers[0]!, base, {
      rootless: true,
      uidMap: [{ containerID: 0, hostID: 100000, size: 3_000_001 }],
      gidMap: [{ containerID: 0, hostID: 100000, size: 3_000_001 }],
    });
    const lines = snapshot(base);
    expect(lines.some((l) => l.startsWith("dev/null "))).toBe(false);
    expect(lines.find((l) => l.startsWith("home/user/.profile "))).toContain(" 101000:101000 ");
    expect(lines.find((l) => l.startsWith("bin/su "))).toContain(" 4755 100000:100000 ");
    const update = join(work, "rootless-update");
    await unpackFile(layers[1]!, update, { rootless: true });
    const xattrs = fs.readXattrs(join(update, "opt/opq"));
    expect(Buffer.from(xattrs.get("user.overlay.opaque") ?? []).toString()).toBe("y");
    expect(xattrs.has("trusted.overlay.opaque")).toBe(false);
  });

  test("an id the mapping does not cover is refused, naming the entry", async () => {
    const dir = join(work, "unmapped");
    const err = await unpackFile(layers[0]!, dir, { uidMap: [{ containerID: 0, hostID: 100000, size: 1000 }] }).catch((e) => e);
    expect(err.code).toBe("PERMISSION_DENIED");
    expect(err.message).toMatch(/layer entry ".*": owned by uid \d+, which the id mapping does not cover/);
  });
});
