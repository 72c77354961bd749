import { describe, expect, test } from "bun:test";
import type { Seccomp, SeccompOperator } from "../../src/oci/spec.ts";
import { compileSeccomp, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_NEW_LISTENER } from "../../src/linux/seccomp/compile.ts";
import { decodeProgram, BPF_JMP, BPF_JA } from "../../src/linux/seccomp/bpf.ts";
import { X86_64_SYSCALLS } from "../../src/linux/seccomp/syscalls-x86_64.ts";
import { X32_SYSCALLS } from "../../src/linux/seccomp/syscalls-x32.ts";
import { X86_SYSCALLS } from "../../src/linux/seccomp/syscalls-x86.ts";
import { AARCH64_SYSCALLS } from "../../src/linux/seccomp/syscalls-aarch64.ts";
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, judge, runFilter } from "../helpers/bpf-interpreter.ts";

const X86_64 = { nativeArch: "SCMP_ARCH_X86_64" };
const nr = (name: string) => X86_64_SYSCALLS[name]!;
const call = (name: string, ...args: (number | bigint)[]) => ({ nr: nr(name), arch: AUDIT_ARCH_X86_64, args });

function profile(p: Partial<Seccomp>): Seccomp {
  return { defaultAction: "SCMP_ACT_ALLOW", ...p };
}

describe("syscall tables", () => {
  test("hold the well-known numbers", () => {
    expect(X86_64_SYSCALLS.read).toBe(0);
    expect(X86_64_SYSCALLS.mkdir).toBe(83);
    expect(X86_64_SYSCALLS.clone3).toBe(435);
    expect(X86_64_SYSCALLS.fchmodat2).toBe(452);
    expect(X32_SYSCALLS.read).toBe(0x40000000);
    expect(X32_SYSCALLS.rt_sigaction).toBe(0x40000000 + 512);
    expect(X86_SYSCALLS.mkdir).toBe(39);
    expect(AARCH64_SYSCALLS.mkdirat).toBe(34);
    expect(AARCH64_SYSCALLS.mkdir).toBeUndefined();
    expect(AARCH64_SYSCALLS.clone3).toBe(435);
  });
});

describe("actions", () => {
  test("a denied call returns the rule's errno, the default errno, or EPERM", () => {
    const { filter } = compileSeccomp(
      profile({
        defaultAction: "SCMP_ACT_ERRNO",
        defaultErrnoRet: 38,
        syscalls: [
          { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
          { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
          { names: ["rmdir"], action: "SCMP_ACT_ERRNO" },
        ],
      }),
      X86_64,
    );
    expect(judge(filter, call("read"))).toEqual({ action: "allow" });
    expect(judge(filter, call("write"))).toEqual({ action: "allow" });
    expect(judge(filter, call("mkdir"))).toEqual({ action: "errno", errno: 13 });
    expect(judge(filter, call("rmdir"))).toEqual({ action: "errno", errno: 1 });
    expect(judge(filter, call("open"))).toEqual({ action: "errno", errno: 38 });
  });

  test("every action maps to its SECCOMP_RET value", () => {
    const { filter, flags, notify } = compileSeccomp(
      profile({
        syscalls: [
          { names: ["mkdir"], action: "SCMP_ACT_KILL" },
          { names: ["rmdir"], action: "SCMP_ACT_KILL_THREAD" },
          { names: ["unlink"], action: "SCMP_ACT_KILL_PROCESS" },
          { names: ["chdir"], action: "SCMP_ACT_TRAP" },
          { names: ["chmod"], action: "SCMP_ACT_TRACE", errnoRet: 42 },
          { names: ["fchmod"], action: "SCMP_ACT_TRACE" },
          { names: ["chown"], action: "SCMP_ACT_LOG" },
          { names: ["mount"], action: "SCMP_ACT_NOTIFY" },
        ],
      }),
      X86_64,
    );
    expect(judge(filter, call("mkdir"))).toEqual({ action: "kill_thread" });
    expect(judge(filter, call("rmdir"))).toEqual({ action: "kill_thread" });
    expect(judge(filter, call("unlink"))).toEqual({ action: "kill_process" });
    expect(judge(filter, call("chdir"))).toEqual({ action: "trap" });
    expect(judge(filter, call("chmod"))).toEqual({ action: "trace", data: 42 });
    expect(judge(filter, call("fchmod"))).toEqual({ action: "trace", data: 1 });
    expect(judge(filter, call("chown"))).toEqual({ action: "log" });
    expect(judge(filter, call("mount"))).toEqual({ action: "notify" });
    expect(judge(filter, call("read"))).toEqual({ action: "allow" });
    expect(notify).toBe(true);
    expect(flags & SECCOMP_FILTER_FLAG_NEW_LISTENER).toBe(SECCOMP_FILTER_FLAG_NEW_LISTENER);
  });

  test("profile flags become SECCOMP_FILTER_FLAG bits; unknown flags are errors", () => {
    const { flags, notify } = compileSeccomp(profile({ flags: ["SECCOMP_FILTER_FLAG_LOG"] }), X86_64);
    expect(flags).toBe(SECCOMP_FILTER_FLAG_LOG);
    expect(notify).toBe(false);
    expect(() => compileSeccomp(profile({ flags: ["SECCOMP_FILTER_FLAG_BOGUS"] }), X86_64)).toThrow(/SECCOMP_FILTER_FLAG_BOGUS/);
  });

  test("bad input is an error naming what is wrong", () => {
    const bad = (p: Partial<Seccomp>) => () => compileSeccomp(profile(p), X86_64);
    expect(bad({ defaultAction: "SCMP_ACT_BOGUS" as never })).toThrow(/unknown action "SCMP_ACT_BOGUS"/);
    expect(bad({ syscalls: [{ names: ["read"], action: "SCMP_ACT_NOPE" as never }] })).toThrow(/syscalls\[0\]\.action: unknown action "SCMP_ACT_NOPE"/);
    expect(bad({ architectures: ["SCMP_ARCH_VAX"] })).toThrow(/unknown architecture "SCMP_ARCH_VAX"/);
    expect(bad({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 1, op: "SCMP_CMP_EQ" }] }] })).toThrow(/index: 6/);
    expect(bad({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "SCMP_CMP_XX" as SeccompOperator }] }] })).toThrow(/unknown operator "SCMP_CMP_XX"/);
    expect(bad({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: -1, op: "SCMP_CMP_EQ" }] }] })).toThrow(/unsigned 64-bit/);
    expect(bad({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", errnoRet: 70000 }] })).toThrow(/errno 70000/);
    expect(bad({ defaultAction: "SCMP_ACT_NOTIFY" })).toThrow(/default action/);
  });

  test("unknown system call names are skipped, the rest still applies", () => {
    const { filter } = compileSeccomp(
      profile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["no_such_call", "read", "mkdir"], action: "SCMP_ACT_ALLOW" }] }),
      X86_64,
    );
    expect(judge(filter, call("read"))).toEqual({ action: "allow" });
    expect(judge(filter, call("write"))).toEqual({ action: "errno", errno: 1 });
  });
});

describe("argument filters", () => {
  const BIG = 0x1_0000_0005n; // above 2^32: the high half matters
  const cases: { op: SeccompOperator; value: bigint; match: bigint[]; miss: bigint[] }[] = [
    { op: "SCMP_CMP_EQ", value: BIG, match: [BIG], miss: [5n, 0x2_0000_0005n, BIG + 1n] },
    { op: "SCMP_CMP_NE", value: BIG, match: [5n, 0x2_0000_0005n, 0n], miss: [BIG] },
    { op: "SCMP_CMP_GT", value: BIG, match: [BIG + 1n, 0x2_0000_0000n, 0xffff_ffff_ffff_ffffn], miss: [BIG, 0xffff_ffffn, 6n] },
    { op: "SCMP_CMP_GE", value: BIG, match: [BIG, BIG + 1n, 0x2_0000_0000n], miss: [BIG - 1n, 0xffff_ffffn, 6n] },
    { op: "SCMP_CMP_LT", value: BIG, match: [BIG - 1n, 0xffff_ffffn, 6n, 0n], miss: [BIG, 0x2_0000_0000n, 0x1_0000_0006n] },
    { op: "SCMP_CMP_LE", value: BIG, match: [BIG, 0xffff_ffffn, 6n], miss: [BIG + 1n, 0x2_0000_0000n] },
  ];
  for (const c of cases) {
    test(`${c.op} compares all 64 bits`, () => {
      const { filter } = compileSeccomp(
        profile({ syscalls: [{ names: ["ioctl"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 1, value: Number(c.value), op: c.op }] }] }),
        X86_64,
      );
      for (const v of c.match) expect(judge(filter, call("ioctl", 3, v))).toEqual({ action: "errno", errno: 22 });
      for (const v of c.miss) expect(judge(filter, call("ioctl", 3, v))).toEqual({ action: "allow" });
    });
  }

  test("MASKED_EQ checks (arg & value) == valueTwo on both halves", () => {
    const mask = 0x0000_00f0_0000_00ffn;
    const { filter } = compileSeccomp(
      profile({
        syscalls: [{ names: ["mmap"], action: "SCMP_ACT_ERRNO", errnoRet: 12, args: [{ index: 2, value: Number(mask), valueTwo: Number(0x0000_0010_0000_0007n), op: "SCMP_CMP_MASKED_EQ" }] }],
      }),
      X86_64,
    );
    const args = (v: bigint) => call("mmap", 0, 4096, v);
    expect(judge(filter, args(0x0000_0010_0000_0007n))).toEqual({ action: "errno", errno: 12 });
    expect(judge(filter, args(0xffff_ff1f_ffff_ff07n))).toEqual({ action: "errno", errno: 12 });
    expect(judge(filter, args(0x0000_0020_0000_0007n))).toEqual({ action: "allow" });
    expect(judge(filter, args(0x0000_0010_0000_0008n))).toEqual({ action: "allow" });
  });

  test("conditions of one rule are ANDed, rules of one call are ORed in order, then the unconditional rule", () => {
    const { filter } = compileSeccomp(
      profile({
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [
          { names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 97 },
          { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, { index: 1, value: 2, op: "SCMP_CMP_EQ" }] },
          { names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 0, value: 2, op: "SCMP_CMP_EQ" }] },
          { names: ["socket"], action: "SCMP_ACT_LOG", args: [{ index: 0, value: 2, op: "SCMP_CMP_EQ" }] },
        ],
      }),
      X86_64,
    );
    expect(judge(filter, call("socket", 1, 2))).toEqual({ action: "allow" });
    expect(judge(filter, call("socket", 1, 1))).toEqual({ action: "errno", errno: 97 });
    expect(judge(filter, call("socket", 2, 1))).toEqual({ action: "errno", errno: 13 });
    expect(judge(filter, call("socket", 10, 1))).toEqual({ action: "errno", errno: 97 });
  });
});

describe("architectures", () => {
  test("a call from an architecture not in the filter is killed", () => {
    const { filter } = compileSeccomp(profile({}), X86_64);
    expect(judge(filter, { nr: 39, arch: AUDIT_ARCH_I386 })).toEqual({ action: "kill_process" });
    expect(judge(filter, { nr: 34, arch: AUDIT_ARCH_AARCH64 })).toEqual({ action: "kill_process" });
    expect(judge(filter, call("mkdir"))).toEqual({ action: "allow" });
  });

  test("each architecture resolves names with its own table", () => {
    const { filter } = compileSeccomp(
      profile({ architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], syscalls: [{ names: ["mkdir", "socketcall"], action: "SCMP_ACT_ERRNO", errnoRet: 5 }] }),
      X86_64,
    );
    expect(judge(filter, call("mkdir"))).toEqual({ action: "errno", errno: 5 });
    expect(judge(filter, { nr: X86_SYSCALLS.mkdir!, arch: AUDIT_ARCH_I386 })).toEqual({ action: "errno", errno: 5 });
    expect(judge(filter, { nr: X86_SYSCALLS.socketcall!, arch: AUDIT_ARCH_I386 })).toEqual({ action: "errno", errno: 5 });
    // 83 is mkdir on x86_64 but not on i386 (it is that architecture's symlink... whatever it is, it is allowed)
    expect(judge(filter, { nr: 83, arch: AUDIT_ARCH_I386 })).toEqual({ action: "allow" });
  });

  test("x32 calls are told apart from x86_64 by __X32_SYSCALL_BIT", () => {
    const rules: Partial<Seccomp> = { syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 7 }] };
    const x32 = { nr: X32_SYSCALLS.mkdir!, arch: AUDIT_ARCH_X86_64 };
    const without = compileSeccomp(profile(rules), X86_64).filter;
    expect(judge(without, x32)).toEqual({ action: "kill_process" });
    expect(judge(without, call("mkdir"))).toEqual({ action: "errno", errno: 7 });
    const withX32 = compileSeccomp(profile({ ...rules, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"] }), X86_64).filter;
    expect(judge(withX32, x32)).toEqual({ action: "errno", errno: 7 });
    expect(judge(withX32, { nr: X32_SYSCALLS.read!, arch: AUDIT_ARCH_X86_64 })).toEqual({ action: "allow" });
    expect(judge(withX32, call("mkdir"))).toEqual({ action: "errno", errno: 7 });
  });

  test("an aarch64 filter uses the generic table; ARM without a table is left out", () => {
    const { filter } = compileSeccomp(
      profile({ architectures: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"], syscalls: [{ names: ["mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }] }),
      { nativeArch: "SCMP_ARCH_AARCH64" },
    );
    expect(judge(filter, { nr: 34, arch: AUDIT_ARCH_AARCH64 })).toEqual({ action: "errno", errno: 13 });
    expect(judge(filter, { nr: 35, arch: AUDIT_ARCH_AARCH64 })).toEqual({ action: "allow" });
    expect(judge(filter, { nr: 34, arch: AUDIT_ARCH_ARM })).toEqual({ action: "kill_process" });
    expect(judge(filter, call("mkdir"))).toEqual({ action: "kill_process" });
  });

  test("32-bit architectures compare the low half of arguments", () => {
    const { filter } = compileSeccomp(
      profile({ architectures: ["SCMP_ARCH_X86"], syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] }] }),
      X86_64,
    );
    expect(judge(filter, { nr: X86_SYSCALLS.personality!, arch: AUDIT_ARCH_I386, args: [8] })).toEqual({ action: "errno", errno: 1 });
    expect(judge(filter, { nr: X86_SYSCALLS.personality!, arch: AUDIT_ARCH_I386, args: [9] })).toEqual({ action: "allow" });
  });
});

describe("program shape", () => {
  test("calls newer than the profile get ENOSYS from a denying default, not the default errno", () => {
    const deny = compileSeccomp(profile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read", "clone"], action: "SCMP_ACT_ALLOW" }] }), X86_64).filter;
    expect(judge(deny, call("write"))).toEqual({ action: "errno", errno: 1 });
    expect(judge(deny, call("clone3"))).toEqual({ action: "errno", errno: 38 });
    expect(judge(deny, { nr: 1000, arch: AUDIT_ARCH_X86_64 })).toEqual({ action: "errno", errno: 38 });
    const allow = compileSeccomp(profile({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO" }] }), X86_64).filter;
    expect(judge(allow, call("clone3"))).toEqual({ action: "allow" });
  });

  test("jumps longer than 255 instructions go through JA trampolines", () => {
    // Many argument rules on one call put the later calls' code far from the search tree's jumps.
    const many = Array.from({ length: 120 }, (_, i) => ({
      names: ["ioctl"],
      action: "SCMP_ACT_ERRNO" as const,
      errnoRet: 100 + i,
      args: [{ index: 1, value: 0x5400 + i, op: "SCMP_CMP_EQ" as const }],
    }));
    const { filter } = compileSeccomp(
      profile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [...many, { names: ["read", "write", "openat", "mkdir"], action: "SCMP_ACT_ALLOW" }] }),
      X86_64,
    );
    const insns = decodeProgram(filter);
    expect(insns.length).toBeGreaterThan(600);
    expect(insns.some((i) => i.code === (BPF_JMP | BPF_JA))).toBe(true);
    for (let i = 0; i < 120; i++) expect(judge(filter, call("ioctl", 1, 0x5400 + i))).toEqual({ action: "errno", errno: 100 + i });
    expect(judge(filter, call("ioctl", 1, 0x5400 + 120))).toEqual({ action: "errno", errno: 1 });
    for (const name of ["read", "write", "openat", "mkdir"]) expect(judge(filter, call(name))).toEqual({ action: "allow" });
  });

  test("a profile over the kernel's 4096-instruction limit is a clear error", () => {
    const huge = Array.from({ length: 1000 }, (_, i) => ({
      names: ["ioctl"],
      action: "SCMP_ACT_ERRNO" as const,
      args: [{ index: 1, value: 0x1_0000_0000 + i, op: "SCMP_CMP_EQ" as const }],
    }));
    expect(() => compileSeccomp(profile({ syscalls: huge }), X86_64)).toThrow(/more than the kernel's limit of 4096/);
  });

  test("the same profile compiles to the same bytes", () => {
    const p = profile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_ALLOW" }] });
    expect(compileSeccomp(p, X86_64).filter).toEqual(compileSeccomp(p, X86_64).filter);
    expect(runFilter(compileSeccomp(p, X86_64).filter, call("read")).steps).toBeLessThan(10);
  });
});
