import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DOCKER_DEFAULT_SECCOMP_PROFILE } from "../../src/engine/seccomp-default.ts";
import { dockerSeccompToOci, loadDockerSeccompProfile, parseDockerSeccompProfile, type SeccompTarget } from "../../src/engine/seccomp-profile.ts";
import { DOCKER_DEFAULT_CAPABILITIES } from "../../src/linux/capabilities.ts";
import { compileSeccomp } from "../../src/linux/seccomp/compile.ts";
import { decodeProgram } from "../../src/linux/seccomp/bpf.ts";
import { X86_64_SYSCALLS } from "../../src/linux/seccomp/syscalls-x86_64.ts";
import { X86_SYSCALLS } from "../../src/linux/seccomp/syscalls-x86.ts";
import { X32_SYSCALLS } from "../../src/linux/seccomp/syscalls-x32.ts";
import { AARCH64_SYSCALLS } from "../../src/linux/seccomp/syscalls-aarch64.ts";
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, judge, runFilter, type Verdict } from "../helpers/bpf-interpreter.ts";

const X86_64 = "SCMP_ARCH_X86_64";
const target = (caps: readonly string[] = DOCKER_DEFAULT_CAPABILITIES, nativeArch = X86_64): SeccompTarget => ({
  capabilities: caps,
  nativeArch,
  kernelRelease: "6.18.4",
});
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWUSER = 0x10000000;
const SIGCHLD = 17;
const CLONE_THREAD_FLAGS = 0x003d0f00;

function names(seccomp: ReturnType<typeof dockerSeccompToOci>, action?: string): Set<string> {
  return new Set((seccomp.syscalls ?? []).filter((s) => !action || s.action === action).flatMap((s) => s.names));
}

describe("Docker profile → OCI linux.seccomp", () => {
  test("archMap gives the native architecture and its sub-architectures", () => {
    expect(dockerSeccompToOci(DOCKER_DEFAULT_SECCOMP_PROFILE, target()).architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    expect(dockerSeccompToOci(DOCKER_DEFAULT_SECCOMP_PROFILE, target(DOCKER_DEFAULT_CAPABILITIES, "SCMP_ARCH_AARCH64")).architectures).toEqual([
      "SCMP_ARCH_AARCH64",
      "SCMP_ARCH_ARM",
    ]);
  });

  test("CAP_SYS_ADMIN adds the admin system calls; without it clone keeps a namespace-flag filter", () => {
    const plain = dockerSeccompToOci(DOCKER_DEFAULT_SECCOMP_PROFILE, target());
    const admin = dockerSeccompToOci(DOCKER_DEFAULT_SECCOMP_PROFILE, target([...DOCKER_DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"]));
    for (const call of ["mount", "umount2", "unshare", "setns", "sethostname", "bpf", "clone3"]) {
      expect(names(plain, "SCMP_ACT_ALLOW").has(call)).toBe(false);
      expect(names(admin, "SCMP_ACT_ALLOW").has(call)).toBe(true);
    }
    const cloneRule = plain.syscalls!.find((s) => s.names.includes("clone"));
    expect(cloneRule?.args).toEqual([{ index: 0, value: 2114060288, op: "SCMP_CMP_MASKED_EQ" }]);
    expect(plain.syscalls!.find((s) => s.names.includes("clone3"))).toMatchObject({ action: "SCMP_ACT_ERRNO", errnoRet: 38 });
    expect(admin.syscalls!.some((s) => s.names.includes("clone") && s.args)).toBe(false);
  });

  test("arch- and capability-specific rules follow the target", () => {
    const plain = dockerSeccompToOci(DOCKER_DEFAULT_SECCOMP_PROFILE, target());
    expect(names(plain).has("arch_prctl")).toBe(true);
    expect(names(plain).has("set_tls")).toBe(false);
    expect(names(plain).has("ptrace")).toBe(true); // minKernel 4.8
    expect(names(dockerSeccompToOci(DOCKER_DEFAULT_SECCOMP_PROFILE, { ...target(), kernelRelease: "4.4.0" })).has("ptrace")).toBe(false);
    const arm = dockerSeccompToOci(DOCKER_DEFAULT_SECCOMP_PROFILE, target(DOCKER_DEFAULT_CAPABILITIES, "SCMP_ARCH_AARCH64"));
    expect(names(arm).has("set_tls")).toBe(true);
    expect(names(arm).has("arch_prctl")).toBe(false);
  });

  test("bad profiles are errors naming the file and the problem", () => {
    expect(() => parseDockerSeccompProfile("{", "/x.json")).toThrow(/seccomp profile \/x\.json: not valid JSON/);
    expect(() => parseDockerSeccompProfile("{}", "/x.json")).toThrow(/defaultAction/);
    expect(() =>
      dockerSeccompToOci({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86"], archMap: [{ architecture: X86_64, subArchitectures: null }] }, target()),
    ).toThrow(/both 'architectures' and 'archMap'/);
    expect(() => dockerSeccompToOci({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ name: "a", names: ["b"], action: "SCMP_ACT_ALLOW" }] }, target())).toThrow(
      /both 'name' and 'names'/,
    );
    expect(() => loadDockerSeccompProfile("/nonexistent/profile.json")).toThrow(/profile\.json: ENOENT/);
  });

  test("a profile file loads; its single 'name' form works", () => {
    const dir = mkdtempSync(join(tmpdir(), "seccomp-"));
    try {
      const path = join(dir, "p.json");
      writeFileSync(path, JSON.stringify({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ name: "read", action: "SCMP_ACT_ALLOW" }] }));
      expect(dockerSeccompToOci(loadDockerSeccompProfile(path), target(), path).syscalls).toEqual([{ names: ["read"], action: "SCMP_ACT_ALLOW" }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the built-in default profile compiled", () => {
  const oci = dockerSeccompToOci(DOCKER_DEFAULT_SECCOMP_PROFILE, target());
  const { filter } = compileSeccomp(oci, { nativeArch: X86_64 });
  const x86_64 = (name: string, ...args: (number | bigint)[]) => judge(filter, { nr: X86_64_SYSCALLS[name]!, arch: AUDIT_ARCH_X86_64, args });

  test("fits the kernel's limit and decides any call in a handful of instructions", () => {
    const size = decodeProgram(filter).length;
    expect(size).toBeLessThan(1000);
    let worst = 0;
    for (const nr of Object.values(X86_64_SYSCALLS)) worst = Math.max(worst, runFilter(filter, { nr, arch: AUDIT_ARCH_X86_64 }).steps);
    expect(worst).toBeLessThan(24);
  });

  test("every x86_64, x32 and i386 system call gets what the profile says", () => {
    // The expected verdict, computed from the OCI rules without arguments: first unconditional rule, else the default.
    const expected = (table: Record<string, number>, name: string, highest: number): Verdict | undefined => {
      const rules = oci.syscalls!.filter((s) => s.names.includes(name));
      if (rules.some((r) => r.args)) return undefined; // checked with arguments below
      const rule = rules[0];
      if (rule) return rule.action === "SCMP_ACT_ALLOW" ? { action: "allow" } : { action: "errno", errno: rule.errnoRet ?? 1 };
      return { action: "errno", errno: table[name]! > highest ? 38 : 1 };
    };
    const all = new Set(oci.syscalls!.flatMap((s) => s.names));
    for (const [table, arch] of [
      [X86_64_SYSCALLS, AUDIT_ARCH_X86_64],
      [X32_SYSCALLS, AUDIT_ARCH_X86_64],
      [X86_SYSCALLS, AUDIT_ARCH_I386],
    ] as const) {
      const highest = Math.max(...Object.entries(table).filter(([n]) => all.has(n)).map(([, nr]) => nr));
      let checked = 0;
      for (const [name, nr] of Object.entries(table)) {
        const want = expected(table, name, highest);
        if (!want) continue;
        expect({ name, verdict: judge(filter, { nr, arch }) }).toEqual({ name, verdict: want });
        checked++;
      }
      expect(checked).toBeGreaterThan(300);
    }
  });

  test("the common calls are allowed, the dangerous ones denied with EPERM", () => {
    for (const call of ["read", "write", "openat", "mmap", "execve", "exit_group", "futex", "clone3" /* ENOSYS below */]) {
      if (call !== "clone3") expect(x86_64(call)).toEqual({ action: "allow" });
    }
    for (const call of ["mount", "umount2", "reboot", "kexec_load", "init_module", "swapon", "keyctl", "unshare", "setns", "bpf"]) {
      expect(x86_64(call)).toEqual({ action: "errno", errno: 1 });
    }
    expect(x86_64("clone3")).toEqual({ action: "errno", errno: 38 });
    expect(judge(filter, { nr: 39, arch: AUDIT_ARCH_AARCH64 })).toEqual({ action: "kill_process" });
  });

  test("clone without CAP_SYS_ADMIN: threads and forks yes, new namespaces no", () => {
    expect(x86_64("clone", SIGCHLD)).toEqual({ action: "allow" });
    expect(x86_64("clone", CLONE_THREAD_FLAGS)).toEqual({ action: "allow" });
    expect(x86_64("clone", CLONE_NEWUSER | SIGCHLD)).toEqual({ action: "errno", errno: 1 });
    expect(x86_64("clone", CLONE_NEWNS)).toEqual({ action: "errno", errno: 1 });
    expect(judge(filter, { nr: X86_SYSCALLS.clone!, arch: AUDIT_ARCH_I386, args: [CLONE_NEWNS] })).toEqual({ action: "errno", errno: 1 });
  });

  test("socket and personality argument rules", () => {
    expect(x86_64("socket", 2, 1, 0)).toEqual({ action: "allow" });
    expect(x86_64("socket", 40, 1, 0)).toEqual({ action: "errno", errno: 1 }); // AF_VSOCK
    expect(x86_64("personality", 0)).toEqual({ action: "allow" });
    expect(x86_64("personality", 0xffffffff)).toEqual({ action: "allow" });
    expect(x86_64("personality", 0x0040000)).toEqual({ action: "errno", errno: 1 }); // ADDR_NO_RANDOMIZE
  });

  test("with CAP_SYS_ADMIN, namespaces may be created", () => {
    const admin = compileSeccomp(dockerSeccompToOci(DOCKER_DEFAULT_SECCOMP_PROFILE, target([...DOCKER_DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"])), {
      nativeArch: X86_64,
    }).filter;
    expect(judge(admin, { nr: X86_64_SYSCALLS.clone!, arch: AUDIT_ARCH_X86_64, args: [CLONE_NEWUSER] })).toEqual({ action: "allow" });
    expect(judge(admin, { nr: X86_64_SYSCALLS.mount!, arch: AUDIT_ARCH_X86_64 })).toEqual({ action: "allow" });
  });

  test("compiles for aarch64", () => {
    const arm = compileSeccomp(dockerSeccompToOci(DOCKER_DEFAULT_SECCOMP_PROFILE, target(DOCKER_DEFAULT_CAPABILITIES, "SCMP_ARCH_AARCH64")), {
      nativeArch: "SCMP_ARCH_AARCH64",
    }).filter;
    expect(judge(arm, { nr: AARCH64_SYSCALLS.openat!, arch: AUDIT_ARCH_AARCH64 })).toEqual({ action: "allow" });
    expect(judge(arm, { nr: AARCH64_SYSCALLS.mount!, arch: AUDIT_ARCH_AARCH64 })).toEqual({ action: "errno", errno: 1 });
  });
});

const HOST_PROFILE = "/usr/share/containers/seccomp.json";
test.skipIf(!existsSync(HOST_PROFILE))("the host's containers/common profile loads and compiles", () => {
  const oci = dockerSeccompToOci(loadDockerSeccompProfile(HOST_PROFILE), target(), HOST_PROFILE);
  const { filter } = compileSeccomp(oci, { nativeArch: X86_64 });
  expect(judge(filter, { nr: X86_64_SYSCALLS.read!, arch: AUDIT_ARCH_X86_64 })).toEqual({ action: "allow" });
  expect(judge(filter, { nr: X86_64_SYSCALLS.kexec_load!, arch: AUDIT_ARCH_X86_64 }).action).toBe("errno");
});
