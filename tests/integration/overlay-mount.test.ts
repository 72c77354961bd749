/**
 * Overlay mounts of layer directories: many layers past the one-page limit
 * of mount(2) options (with the new mount API and with the short-link
 * fallback), a writable upper directory, and a single read-only layer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountOverlay, unmountOverlay } from "../../src/image/overlay.ts";
import { errorOf } from "../helpers/errors.ts";

const LAYERS = 120;
let work: string;
let lowers: string[];
let target: string;

function mounted(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[4] === path);
}

function shortLinkDirs(): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith("cl-"));
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "containr-overlay-"));
  // Long paths, as under /var/lib/containr/image/layers/sha256/<64 hex>: 120 of them are ~10 KB of options.
  lowers = [];
  for (let i = 0; i < LAYERS; i++) {
    const dir = join(work, "layers", `${i.toString().padStart(3, "0")}-${"f".repeat(64)}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `only-in-${i}`), String(i));
    writeFileSync(join(dir, "shared"), String(i));
    lowers.push(dir);
  }
  lowers.reverse(); // top-most (the last layer) first
  target = join(work, "merged");
  mkdirSync(target);
});

afterEach(() => {
  while (mounted(target)) unmountOverlay(target);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe("mountOverlay", () => {
  for (const api of ["auto", "fsconfig", "mount"] as const) {
    test(`${LAYERS} layers with ${api}: every layer visible, the top-most wins`, () => {
      expect(lowers.join(":").length).toBeGreaterThan(4096);
      const linkDirsBefore = shortLinkDirs();
      mountOverlay({ lowers, target, readonly: true, api });
      expect(mounted(target)).toBe(true);
      const names = readdirSync(target);
      expect(names.length).toBe(LAYERS + 1);
      expect(readFileSync(join(target, "shared"), "utf8")).toBe(String(LAYERS - 1));
      expect(readFileSync(join(target, "only-in-0"), "utf8")).toBe("0");
      expect(() => writeFileSync(join(target, "new"), "x")).toThrow(/EROFS|read-only/i);
      unmountOverlay(target);
      expect(mounted(target)).toBe(false);
      // The fallback's short links are gone after the mount.
      expect(shortLinkDirs()).toEqual(linkDirsBefore);
    });
  }

  test("with an upper directory: writes go up, deletions become whiteouts, lower layers are untouched", () => {
    const upper = join(work, "upper");
    const wk = join(work, "work");
    mkdirSync(upper);
    mkdirSync(wk);
    mountOverlay({ lowers: lowers.slice(0, 3), upper, work: wk, target });
    writeFileSync(join(target, "created"), "new");
    rmSync(join(target, "shared"));
    expect(readFileSync(join(upper, "created"), "utf8")).toBe("new");
    const wh = lstatSync(join(upper, "shared"));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(existsSync(join(lowers[0]!, "shared"))).toBe(true);
    unmountOverlay(target, { detach: true });
  });

  test("a single layer without upper is mounted read-only", () => {
    mountOverlay({ lowers: [lowers[0]!], target });
    expect(readdirSync(target).sort()).toEqual([`only-in-${LAYERS - 1}`, "shared"]);
    expect(() => writeFileSync(join(target, "new"), "x")).toThrow(/EROFS|read-only/i);
  });

  test("a missing layer directory is a MOUNT_FAILED error naming it", () => {
    const missing = join(work, "no-such-layer");
    for (const api of ["fsconfig", "mount"] as const) {
      const err = errorOf(() => mountOverlay({ lowers: [missing, lowers[0]!], target, api }));
      expect(err.code).toBe("MOUNT_FAILED");
      expect(err.message).toContain(api === "fsconfig" ? missing : target);
      expect(mounted(target)).toBe(false);
    }
  });
});
