/**
 * The compiled seccomp bytes on the real kernel: build/seccomp-probe (from
 * csrc/bin/seccomp-probe.c, built by scripts/build.ts) loads a filter the
 * TypeScript compiler wrote and execs busybox under it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Seccomp } from "../../src/oci/spec.ts";
import { compileSeccomp } from "../../src/linux/seccomp/compile.ts";
import { nativeSeccompArch } from "../../src/linux/seccomp/arch.ts";
import { DOCKER_DEFAULT_SECCOMP_PROFILE } from "../../src/engine/seccomp-default.ts";
import { dockerSeccompToOci } from "../../src/engine/seccomp-profile.ts";
import { DOCKER_DEFAULT_CAPABILITIES } from "../../src/linux/capabilities.ts";
import { BUSYBOX, hasBusybox } from "../helpers/busybox.ts";

const root = join(import.meta.dir, "../..");
const PROBE = join(root, "build/seccomp-probe");
const nativeArch = nativeSeccompArch();
let dir = "";

beforeAll(() => {
  if (!existsSync(PROBE)) {
    const build = Bun.spawnSync([process.execPath, join(root, "scripts/build.ts"), "--native-only"], { cwd: root, stderr: "pipe" });
    if (build.exitCode !== 0) throw new Error(`native build failed: ${build.stderr.toString()}`);
  }
  dir = mkdtempSync(join(tmpdir(), "seccomp-live-"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runUnder(profile: Seccomp, args: string[]) {
  const { filter, flags } = compileSeccomp(profile, { nativeArch });
  const file = join(dir, `filter-${Math.random().toString(36).slice(2)}.bin`);
  writeFileSync(file, filter);
  const proc = Bun.spawnSync([PROBE, file, String(flags), BUSYBOX, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

describe.skipIf(!hasBusybox())("seccomp filters on the running kernel", () => {
  test("a denied call fails with the chosen errno, allowed calls work", () => {
    const target = join(dir, "x");
    const profile: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }],
    };
    const denied = runUnder(profile, ["mkdir", target]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("Permission denied");
    expect(existsSync(target)).toBe(false);

    const allowed = runUnder(profile, ["sh", "-c", "echo hello; touch " + join(dir, "y") + " && echo made"]);
    expect(allowed).toMatchObject({ code: 0, stdout: "hello\nmade\n" });
  });

  test("argument filters hold on the real kernel (64-bit compare)", () => {
    // kill(pid, 0) on our own pid allowed, any real signal refused with EPERM.
    const profile: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [{ index: 1, value: 0, op: "SCMP_CMP_NE" }] }],
    };
    const out = runUnder(profile, ["sh", "-c", "kill -0 $$ && echo probe-ok; kill -TERM $$ || echo refused"]);
    expect(out.stdout).toBe("probe-ok\nrefused\n");
    expect(out.code).toBe(0);
  });

  test("Docker's default profile runs a shell and refuses what Docker refuses", () => {
    const oci = dockerSeccompToOci(DOCKER_DEFAULT_SECCOMP_PROFILE, { capabilities: DOCKER_DEFAULT_CAPABILITIES, nativeArch });
    const shell = runUnder(oci, ["sh", "-c", "echo ok; ls / >/dev/null && cat /proc/self/status | grep -q Seccomp && echo listed"]);
    expect(shell).toMatchObject({ code: 0, stdout: "ok\nlisted\n" });
    const status = runUnder(oci, ["grep", "^Seccomp:", "/proc/self/status"]);
    expect(status.stdout).toMatch(/Seccomp:\s+2/);
    // swapoff needs CAP_SYS_ADMIN and is not in the profile: EPERM before the kernel looks at the path.
    const swapoff = runUnder(oci, ["swapoff", join(dir, "no-such-swap")]);
    expect(swapoff.code).not.toBe(0);
    expect(swapoff.stderr).toContain("Operation not permitted");
  });
});
