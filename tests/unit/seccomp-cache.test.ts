/**
 * The compiled-seccomp cache: a second compile of the same profile comes
 * from the file, a different profile or a damaged file compiles afresh, and
 * a directory others may write is never used.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSeccomp } from "../../src/linux/seccomp/compile.ts";
import type { Seccomp } from "../../src/oci/spec.ts";
import { cachedCompile } from "../../src/runtime/seccomp-cache.ts";

const work = mkdtempSync(join(tmpdir(), "containr-unit-seccomp-cache-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const profile = (errno: number): Seccomp => ({
  defaultAction: "SCMP_ACT_ALLOW",
  architectures: ["SCMP_ARCH_X86_64"],
  syscalls: [{ names: ["mkdir", "rmdir"], action: "SCMP_ACT_ERRNO", errnoRet: errno }],
});

function counted(seccomp: Seccomp, dir: string): { calls: number; result: ReturnType<typeof compileSeccomp> } {
  let calls = 0;
  const result = cachedCompile(seccomp, "SCMP_ARCH_X86_64", () => {
    calls += 1;
    return compileSeccomp(seccomp, { nativeArch: "SCMP_ARCH_X86_64" });
  }, dir);
  return { calls, result };
}

test.skipIf(process.getuid?.() !== 0)("the same profile compiles once; another profile or a damaged file compiles again", () => {
  const dir = join(work, "cache");
  const first = counted(profile(1), dir);
  expect(first.calls).toBe(1);
  const second = counted(profile(1), dir);
  expect(second.calls).toBe(0);
  expect(second.result).toEqual(first.result);
  expect(counted(profile(2), dir).calls).toBe(1);

  for (const file of readdirSync(dir)) writeFileSync(join(dir, file), "garbage");
  const damaged = counted(profile(1), dir);
  expect(damaged.calls).toBe(1);
  expect(damaged.result).toEqual(first.result);
});

test.skipIf(process.getuid?.() !== 0)("a cache directory that others may write is not used", () => {
  const dir = join(work, "open");
  counted(profile(1), dir);
  chmodSync(dir, 0o777);
  expect(counted(profile(1), dir).calls).toBe(1);
});
