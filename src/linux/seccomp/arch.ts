/**
 * Seccomp architectures: the libseccomp names a profile uses
 * (SCMP_ARCH_X86_64, ...), the AUDIT_ARCH_* value the kernel reports in
 * seccomp_data.arch (<linux/audit.h>), and the system call table we hold for
 * each. x86_64 and x32 share AUDIT_ARCH_X86_64: x32 calls carry
 * __X32_SYSCALL_BIT in their number.
 */
import { ContainrError } from "../../diag/errors.ts";

export const X32_SYSCALL_BIT = 0x40000000;

const AUDIT_ARCH_64BIT = 0x80000000;
const AUDIT_ARCH_LE = 0x40000000;

export interface SeccompArch {
  /** libseccomp / OCI name, e.g. SCMP_ARCH_X86_64 */
  name: string;
  /** seccomp_data.arch value */
  auditArch: number;
  /** 64-bit arguments (both halves compared) or 32-bit (low half only, as libseccomp) */
  bits: 32 | 64;
  /** system call numbers by name; undefined when containr holds no table for it */
  syscalls: Readonly<Record<string, number>> | undefined;
}

type SyscallTable = Readonly<Record<string, number>>;

/**
 * table: loads the architecture's system call table on first use. The tables
 * (four objects of ~400 names) are built only by a command that compiles a
 * profile: ps, exec with a cached program and the like never need them.
 */
function arch(name: string, emMachine: number, flags: number, bits: 32 | 64, table?: () => SyscallTable): SeccompArch {
  let syscalls: SyscallTable | undefined;
  return {
    name,
    auditArch: (emMachine | flags) >>> 0,
    bits,
    get syscalls() {
      if (table) syscalls ??= table();
      return syscalls;
    },
  };
}

const LE64 = AUDIT_ARCH_64BIT | AUDIT_ARCH_LE;

/** Every architecture name the OCI runtime spec allows, with its ELF machine (EM_*) and audit flags. */
const ARCHES: readonly SeccompArch[] = [
  arch("SCMP_ARCH_X86_64", 62, LE64, 64, () => (require("./syscalls-x86_64.ts") as typeof import("./syscalls-x86_64.ts")).X86_64_SYSCALLS),
  arch("SCMP_ARCH_X32", 62, LE64, 64, () => (require("./syscalls-x32.ts") as typeof import("./syscalls-x32.ts")).X32_SYSCALLS),
  arch("SCMP_ARCH_X86", 3, AUDIT_ARCH_LE, 32, () => (require("./syscalls-x86.ts") as typeof import("./syscalls-x86.ts")).X86_SYSCALLS),
  arch("SCMP_ARCH_AARCH64", 183, LE64, 64, () => (require("./syscalls-aarch64.ts") as typeof import("./syscalls-aarch64.ts")).AARCH64_SYSCALLS),
  arch("SCMP_ARCH_ARM", 40, AUDIT_ARCH_LE, 32),
  arch("SCMP_ARCH_MIPS", 8, 0, 32),
  arch("SCMP_ARCH_MIPSEL", 8, AUDIT_ARCH_LE, 32),
  arch("SCMP_ARCH_MIPS64", 8, AUDIT_ARCH_64BIT, 64),
  arch("SCMP_ARCH_MIPSEL64", 8, LE64, 64),
  // n32 is flagged with __AUDIT_ARCH_CONVENTION_MIPS64_N32 (0x20000000)
  arch("SCMP_ARCH_MIPS64N32", 8, AUDIT_ARCH_64BIT | 0x20000000, 64),
  arch("SCMP_ARCH_MIPSEL64N32", 8, LE64 | 0x20000000, 64),
  arch("SCMP_ARCH_PPC", 20, 0, 32),
  arch("SCMP_ARCH_PPC64", 21, AUDIT_ARCH_64BIT, 64),
  arch("SCMP_ARCH_PPC64LE", 21, LE64, 64),
  arch("SCMP_ARCH_S390", 22, 0, 32),
  arch("SCMP_ARCH_S390X", 22, AUDIT_ARCH_64BIT, 64),
  arch("SCMP_ARCH_PARISC", 15, 0, 32),
  arch("SCMP_ARCH_PARISC64", 15, AUDIT_ARCH_64BIT, 64),
  arch("SCMP_ARCH_RISCV64", 243, LE64, 64),
  arch("SCMP_ARCH_LOONGARCH64", 258, LE64, 64),
  arch("SCMP_ARCH_M68K", 4, 0, 32),
  arch("SCMP_ARCH_SH", 42, AUDIT_ARCH_LE, 32),
  arch("SCMP_ARCH_SHEB", 42, 0, 32),
];

const BY_NAME = new Map(ARCHES.map((a) => [a.name, a]));

/** The architecture called `name`; an unknown name is an INVALID_CONFIG error naming it. */
export function seccompArch(name: string): SeccompArch {
  const found = BY_NAME.get(name);
  if (!found) {
    throw new ContainrError("INVALID_CONFIG", `linux.seccomp.architectures: unknown architecture "${name}"`, {
      hint: `use one of ${ARCHES.map((a) => a.name).join(", ")}`,
    });
  }
  return found;
}

/** The libseccomp name of the architecture this process runs on. */
export function nativeSeccompArch(processArch: string = process.arch): string {
  switch (processArch) {
    case "x64":
      return "SCMP_ARCH_X86_64";
    case "arm64":
      return "SCMP_ARCH_AARCH64";
    default:
      throw new ContainrError("INVALID_CONFIG", `seccomp: unsupported host architecture "${processArch}"`, {
        hint: "containr builds seccomp filters for x86_64 and aarch64 hosts",
      });
  }
}
