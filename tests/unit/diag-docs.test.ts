import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ERROR_CODES } from "../../src/diag/codes.ts";

const root = join(import.meta.dir, "../..");
const doc = readFileSync(join(root, "docs/errors.md"), "utf8");

function documented(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const m of doc.matchAll(/^\| `([A-Z_]+)` \| [^|]+ \| (\d+) \|/gm)) rows.set(m[1]!, Number(m[2]));
  return rows;
}

describe("docs/errors.md", () => {
  test("documents every code with its exit status", () => {
    const rows = documented();
    for (const [code, { exit }] of Object.entries(ERROR_CODES)) {
      expect(rows.get(code), code).toBe(exit);
    }
  });

  test("documents no code that does not exist", () => {
    for (const code of documented().keys()) expect(Object.hasOwn(ERROR_CODES, code), code).toBe(true);
  });

  test("every code thrown in src/ is a known code", () => {
    const files = readdirSync(join(root, "src"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    const used = new Set<string>();
    for (const file of files) {
      const text = readFileSync(join(root, "src", file), "utf8");
      for (const m of text.matchAll(/(?:new ContainrError|fail|fromErrno)\(\s*"([A-Z_]+)"/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(0);
    for (const code of used) expect(Object.hasOwn(ERROR_CODES, code), `${code} is thrown but not defined`).toBe(true);
  });
});
