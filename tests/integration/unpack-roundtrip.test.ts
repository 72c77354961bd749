/**
 * TarWriter.addTree archives a tree so that GNU tar reads it back
 * identically: the same `tar -tvf` listing as GNU tar's own archive of the
 * tree, and `tar --xattrs -xpf` recreates it entry by entry. An unpacked
 * layer written back out has the same entries as the original layer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTar, TarWriter } from "../../src/image/tar.ts";
import { unpackLayer } from "../../src/image/unpack.ts";
import { buildTree, CAP_NET_RAW, gnuTarLayer, snapshot, type TreeNode } from "../helpers/layers.ts";

const TREE: TreeNode[] = [
  { path: "bin/busybox", type: "file", content: "#!busybox\n".repeat(1000), mode: 0o755 },
  { path: "bin/bb", type: "hardlink", target: "bin/busybox" },
  { path: "bin/sh", type: "symlink", target: "busybox" },
  { path: "bin/su", type: "file", content: "su", mode: 0o4755 },
  { path: "bin/ping", type: "file", content: "ping", mode: 0o755, xattrs: { "security.capability": CAP_NET_RAW, "user.note": "a = b" } },
  { path: "etc/shadow", type: "file", content: "s", mode: 0o640, gid: 42 },
  { path: "etc/localtime", type: "symlink", target: `/usr/share/zoneinfo/${"Very/Long/".repeat(12)}UTC` },
  { path: `usr/share/${"long-directory-".repeat(5)}/${"long-file-".repeat(8)}`, type: "file", content: "long" },
  { path: "tmp", type: "dir", mode: 0o1777 },
  { path: "srv/ids", type: "file", content: "x", uid: 2_097_152, gid: 3_000_000 },
  { path: "srv/user", type: "file", content: "x", uid: 1000, gid: 1000 },
  { path: "dev/null", type: "char", major: 1, minor: 3, mode: 0o666 },
  { path: "dev/sda", type: "block", major: 8, minor: 0, mode: 0o660 },
  { path: "run/fifo", type: "fifo", mode: 0o600 },
  { path: "empty", type: "file" },
];

let work: string;
let tree: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "containr-roundtrip-"));
  tree = buildTree(join(work, "tree"), TREE);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

async function writeTree(dir: string, out: string, prefix?: string): Promise<void> {
  const writer = new TarWriter();
  const done = Bun.write(out, new Response(writer.stream));
  await writer.addTree(dir, { prefix });
  await writer.close();
  await done;
}

function listing(tar: string): string[] {
  const r = Bun.spawnSync(["tar", "--numeric-owner", "-tvf", tar], { stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  return r.stdout.toString().split("\n").filter((l) => l && !/ \.\/$/.test(l));
}

describe("TarWriter", () => {
  test("tar -tvf lists the same entries as GNU tar's own archive of the tree", async () => {
    const ours = join(work, "ours.tar");
    await writeTree(tree, ours, "./");
    const lines = listing(ours);
    expect(lines).toEqual(listing(gnuTarLayer(tree, join(work, "gnu.tar"), "posix")));
    expect(lines.some((l) => l.startsWith("crw-rw-rw- 0/0") && l.includes("1,3"))).toBe(true);
    expect(lines.some((l) => l.includes("2097152/3000000"))).toBe(true);
  });

  test("tar --xattrs -xpf recreates the tree entry by entry", async () => {
    const ours = join(work, "extract.tar");
    await writeTree(tree, ours);
    const dest = join(work, "extracted");
    mkdirSync(dest);
    const r = Bun.spawnSync(["tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf", ours, "-C", dest], { stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    const lines = snapshot(dest, { skipRoot: true, secondsOnly: true });
    expect(lines).toEqual(snapshot(tree, { skipRoot: true, secondsOnly: true }));
    expect(lines.find((l) => l.startsWith("bin/ping "))).toContain(`security.capability=${Buffer.from(CAP_NET_RAW).toString("hex")}`);
  });

  test("the same tree always gives the same bytes", async () => {
    const a = join(work, "a.tar");
    const b = join(work, "b.tar");
    await writeTree(tree, a);
    await writeTree(tree, b);
    const [x, y] = await Promise.all([Bun.file(a).bytes(), Bun.file(b).bytes()]);
    expect(x.length).toBeGreaterThan(10_000);
    expect(Buffer.compare(x, y)).toBe(0);
  });

  test("an unpacked layer written back has the same entries as the layer", async () => {
    const layer = gnuTarLayer(tree, join(work, "layer.tar"), "posix");
    const dir = join(work, "unpacked");
    mkdirSync(dir);
    await unpackLayer(Bun.file(layer).stream(), dir);
    const again = join(work, "again.tar");
    await writeTree(dir, again, "./");
    const summary = async (path: string) => {
      const out: string[] = [];
      for await (const e of readTar(Bun.file(path).stream())) {
        if (e.name === "./") continue;
        out.push([e.name, e.type, e.mode, e.uid, e.gid, e.size, e.mtime, e.linkname, e.devmajor, e.devminor, [...e.xattrs.keys()].sort().join()].join(" "));
      }
      return out;
    };
    expect(await summary(again)).toEqual(await summary(layer));
  });

  test("a file that shrinks while it is archived is an error, not a short entry", async () => {
    const dir = join(work, "changing");
    mkdirSync(dir);
    writeFileSync(join(dir, "f"), "x".repeat(100_000));
    const writer = new TarWriter(1);
    const reader = writer.stream.getReader();
    const adding = writer.addTree(dir);
    await reader.read(); // the header is out; the body is read on demand
    writeFileSync(join(dir, "f"), "short");
    const drain = (async () => {
      for (;;) if ((await reader.read()).done) return;
    })().catch(() => {});
    const err = await adding.catch((e) => e);
    writer.abort(err);
    await drain;
    expect(err?.message).toMatch(/the body has \d+ bytes, the header says 100000/);
  });
});
