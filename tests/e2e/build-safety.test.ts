import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasBinary, runContainr } from "../helpers/binary.ts";

// A root tool must never load ./.env or ./bunfig.toml (preload scripts) from
// the directory it is started in: that would be code execution as root.
describe.skipIf(!hasBinary())("the compiled binary in a hostile directory", () => {
  let dir: string;
  let marker: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "containr-hostile-"));
    marker = join(dir, "preload-ran");
    writeFileSync(join(dir, ".env"), "CONTAINR_LOG_LEVEL=debug\n");
    writeFileSync(join(dir, "evil.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x"); console.error("PRELOADED");\n`);
    writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
    writeFileSync(join(dir, "tsconfig.json"), '{"compilerOptions":{"paths":{"citty":["./evil.ts"]}}}\n');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("does not run a bunfig.toml preload script", async () => {
    const r = await runContainr(["version"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Client: containr\n Version: /);
    expect(r.stderr).not.toContain("PRELOADED");
    expect(existsSync(marker)).toBe(false);
  });

  test("does not read .env", async () => {
    const r = await runContainr(["version"], { cwd: dir });
    expect(r.stderr).not.toContain("debug:");
  });

  test("the same variable set for real does take effect (the check above can fail)", async () => {
    const r = await runContainr(["version"], { cwd: dir, env: { CONTAINR_LOG_LEVEL: "debug" } });
    expect(r.stderr).toContain("debug: containr version: running");
  });
});
