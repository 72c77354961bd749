/**
 * What every containr command loads before it does anything. The bundle
 * (bun build) hoists each builtin module that any module imports to its
 * very start, whether or not the command runs that module: node:net,
 * node:crypto or bun:sqlite imported anywhere cost every command several
 * milliseconds (docs/benchmarks.md, "Engine"). Modules beyond this list are
 * loaded on first use (require, Bun's own APIs) instead.
 */
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");
/** The cheap ones every command needs anyway. */
const AT_START = ["bun:ffi", "fs", "os", "path"];

test.skipIf(!existsSync(join(root, "build/containr-init")))("the bundle loads only node:fs, node:path, node:os and bun:ffi at start", async () => {
  const result = await Bun.build({ entrypoints: [join(root, "src/main.ts")], target: "bun" });
  expect(result.success).toBe(true);
  const entry = result.outputs.find((o) => o.kind === "entry-point");
  expect(entry).toBeDefined();
  const text = await entry!.text();
  const hoisted = [...text.matchAll(/^import\s[^;]*?\sfrom\s+"([^"]+)";$/gms)].map((m) => m[1]!);
  expect(hoisted.length).toBeGreaterThan(0);
  expect([...new Set(hoisted)].sort()).toEqual(AT_START);
});
