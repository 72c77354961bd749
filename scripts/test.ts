#!/usr/bin/env bun
/**
 * npm test: build everything (the e2e tests drive the compiled binary), check
 * the types, run the whole suite with bun test, and finish with one plain line
 * "N passed, N failed, N skipped" read from bun's JUnit report.
 *
 * Extra arguments go to bun test (a path filter, -t NAME, ...).
 */
import { $ } from "bun";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const report = join(root, "build/junit.xml");

if (process.getuid?.() === 0) await $`bash ${join(root, "scripts/test-host-setup.sh")}`;
await $`${process.execPath} ${join(root, "scripts/build.ts")}`.cwd(root);
rmSync(report, { force: true });

// bun test does not check types: tsc does, and a type error counts as a failed test.
const typecheck = Bun.spawnSync([join(root, "node_modules/.bin/tsc"), "--noEmit", "-p", root], { stdout: "inherit", stderr: "inherit" });
if (typecheck.exitCode !== 0) console.error("typecheck (tsc --noEmit) failed");

const run = Bun.spawn(
  [process.execPath, "test", "--reporter=junit", `--reporter-outfile=${report}`, ...process.argv.slice(2)],
  { cwd: root, stdio: ["inherit", "inherit", "inherit"] },
);
const status = await run.exited;

const counts = { tests: 0, failures: 0, errors: 0, skipped: 0 };
if (existsSync(report)) {
  const xml = readFileSync(report, "utf8");
  const head = xml.match(/<testsuites\b[^>]*>/)?.[0] ?? "";
  for (const key of Object.keys(counts) as (keyof typeof counts)[]) {
    counts[key] = Number(head.match(new RegExp(`\\b${key}="(\\d+)"`))?.[1] ?? 0);
  }
}
const typeErrors = typecheck.exitCode === 0 ? 0 : 1;
const failed = counts.failures + counts.errors + (status !== 0 && counts.failures + counts.errors === 0 ? 1 : 0) + typeErrors;
const passed = counts.tests - counts.failures - counts.errors - counts.skipped;
console.log(`${passed} passed, ${failed} failed, ${counts.skipped} skipped`);
process.exit(status !== 0 ? status : typeErrors);
