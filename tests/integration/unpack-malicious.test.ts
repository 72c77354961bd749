/**
 * Layers that try to write outside their directory: every one is refused
 * with UNSAFE_PATH naming the entry, and nothing outside the layer changes
 * (the sandbox around it, /etc, /etc/passwd).
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TarWriter, type TarHeaderInput } from "../../src/image/tar.ts";
import { unpackLayer } from "../../src/image/unpack.ts";

type Entry = [TarHeaderInput, string?];

/** A tar archive of the given entries, made with the project's writer. */
async function tarOf(entries: Entry[]): Promise<Uint8Array> {
  const writer = new TarWriter();
  const bytes = new Response(writer.stream).arrayBuffer();
  for (const [header, body] of entries) {
    const data = body === undefined ? undefined : Buffer.from(body);
    await writer.add({ mode: 0o644, ...header, size: data?.length ?? 0 }, data);
  }
  await writer.close();
  return new Uint8Array(await bytes);
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new Blob([bytes]).stream();
}

const id = `${process.pid}-${Date.now()}`;
const hostEtcEscape = `/etc/containr-escape-${id}`;
const hostAbs = `/containr-abs-${id}`;
const outsideDir = mkdtempSync(join(tmpdir(), "containr-outside-"));
const passwdBefore = readFileSync("/etc/passwd");
const passwdLinks = lstatSync("/etc/passwd").nlink;

let sandbox: string;
let layer: string;

beforeEach(() => {
  sandbox = mkdtempSync(join(tmpdir(), "containr-malicious-"));
  layer = join(sandbox, "layer");
  mkdirSync(layer);
  writeFileSync(join(sandbox, "canary"), "untouched");
});

afterAll(() => {
  rmSync(outsideDir, { recursive: true, force: true });
  for (const p of [hostEtcEscape, hostAbs]) rmSync(p, { force: true, recursive: true });
});

function expectNothingOutside(): void {
  expect(readdirSync(sandbox).sort()).toEqual(["canary", "layer"]);
  expect(readFileSync(join(sandbox, "canary"), "utf8")).toBe("untouched");
  expect(existsSync(hostEtcEscape)).toBe(false);
  expect(existsSync(hostAbs)).toBe(false);
  expect(readdirSync(outsideDir)).toEqual([]);
  expect(readFileSync("/etc/passwd")).toEqual(passwdBefore);
  expect(lstatSync("/etc/passwd").nlink).toBe(passwdLinks);
}

async function expectRefused(entries: Entry[], entryName: string, why: RegExp): Promise<void> {
  const err = await unpackLayer(streamOf(await tarOf(entries)), layer).catch((e) => e);
  expect(err?.code).toBe("UNSAFE_PATH");
  expect(err.message).toContain(`layer entry ${JSON.stringify(entryName)}`);
  expect(err.message).toMatch(why);
  expectNothingOutside();
}

describe("unpackLayer refuses entries that escape the layer", () => {
  test("../x", async () => {
    await expectRefused([[{ name: "../canary", type: "file" }, "overwritten"]], "../canary", /'\.\.' component/);
    await expectRefused([[{ name: "./a/../../canary", type: "file" }, "overwritten"]], "./a/../../canary", /'\.\.' component/);
  });

  test("an absolute name", async () => {
    await expectRefused([[{ name: hostAbs, type: "file" }, "x"]], hostAbs, /absolute path/);
  });

  test("a symlink a -> / followed by a/etc/x", async () => {
    await expectRefused(
      [
        [{ name: "a", type: "symlink", linkname: "/" }],
        [{ name: `a${hostEtcEscape}`, type: "file" }, "escaped"],
      ],
      `a${hostEtcEscape}`,
      /symbolic link "a"/,
    );
    // The symlink itself was created (it is harmless inside the layer); nothing went through it.
    expect(lstatSync(join(layer, "a")).isSymbolicLink()).toBe(true);
  });

  test("chains of symlinks to ..", async () => {
    await expectRefused(
      [
        [{ name: "d", type: "dir", mode: 0o755 }],
        [{ name: "d/up", type: "symlink", linkname: ".." }],
        [{ name: "d/upup", type: "symlink", linkname: "up/.." }],
        [{ name: "d/upup/escape", type: "file" }, "escaped"],
      ],
      "d/upup/escape",
      /symbolic link "d\/upup"/,
    );
    await expectRefused(
      [
        [{ name: "up", type: "symlink", linkname: "../../../../.." }],
        [{ name: "up/canary", type: "file" }, "overwritten"],
      ],
      "up/canary",
      /symbolic link "up"/,
    );
  });

  test("a directory entry through a symlink to a directory outside", async () => {
    await expectRefused(
      [
        [{ name: "out", type: "symlink", linkname: outsideDir }],
        [{ name: "out/sub/", type: "dir", mode: 0o755 }],
      ],
      "out/sub/",
      /symbolic link "out"/,
    );
  });

  test("hardlinks to /etc/passwd, by absolute path, by .., and through a symlink", async () => {
    await expectRefused([[{ name: "pw", type: "hardlink", linkname: "/etc/passwd" }]], "pw", /hardlink target "\/etc\/passwd" is an absolute path/);
    await expectRefused([[{ name: "pw", type: "hardlink", linkname: "../../../../etc/passwd" }]], "pw", /'\.\.' component/);
    await expectRefused(
      [
        [{ name: "etc", type: "symlink", linkname: "/etc" }],
        [{ name: "pw", type: "hardlink", linkname: "etc/passwd" }],
      ],
      "pw",
      /goes through a symbolic link/,
    );
  });

  test("a whiteout of ..", async () => {
    await expectRefused([[{ name: "d/.wh...", type: "file" }]], "d/.wh...", /whiteout names/);
  });
});

describe("what stays inside is confined", () => {
  test("a later entry replaces a symlink instead of writing through it", async () => {
    const tar = await tarOf([
      [{ name: "passwd", type: "symlink", linkname: "/etc/passwd" }],
      [{ name: "passwd", type: "file" }, "mine"],
      [{ name: "outside", type: "symlink", linkname: outsideDir }],
      [{ name: "outside/", type: "dir", mode: 0o755 }],
      [{ name: "outside/file", type: "file" }, "inside the layer"],
    ]);
    await unpackLayer(streamOf(tar), layer);
    expect(readFileSync(join(layer, "passwd"), "utf8")).toBe("mine");
    expect(lstatSync(join(layer, "outside")).isDirectory()).toBe(true);
    expect(readFileSync(join(layer, "outside/file"), "utf8")).toBe("inside the layer");
    expectNothingOutside();
  });

  test("a truncated layer is an error, not a silent success", async () => {
    const tar = await tarOf([[{ name: "big", type: "file" }, "x".repeat(5000)]]);
    for (const cut of [700, 512 + 4096, tar.length - 1024]) {
      rmSync(layer, { recursive: true, force: true });
      mkdirSync(layer);
      const err = await unpackLayer(streamOf(tar.subarray(0, cut)), layer).catch((e) => e);
      expect(err?.code).toBe("INVALID_ARCHIVE");
      expect(err.message).toMatch(/truncated|without an end-of-archive block/);
    }
  });
});
