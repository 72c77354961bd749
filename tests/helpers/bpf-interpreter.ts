/**
 * A classic-BPF interpreter for seccomp programs, for unit tests: it checks
 * a program the way the kernel's seccomp_check_filter does (only the
 * instructions seccomp accepts, aligned loads inside struct seccomp_data,
 * jumps forward and in range, ends in RET, at most BPF_MAXINSNS) and runs it
 * against a synthetic system call.
 */
import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_MAXINSNS,
  BPF_RET,
  BPF_W,
  SECCOMP_DATA_ARCH,
  SECCOMP_DATA_ARGS,
  SECCOMP_DATA_NR,
  SECCOMP_DATA_SIZE,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
  decodeProgram,
  type SockFilter,
} from "../../src/linux/seccomp/bpf.ts";

const BPF_JSET = 0x40;

// The kernel's values from <linux/audit.h>, written out rather than taken from
// src/linux/seccomp/arch.ts: they are what the compiled filters are judged against.
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
export const AUDIT_ARCH_ARM = 0x40000028;

export interface SyscallInput {
  nr: number;
  arch: number;
  args?: (number | bigint)[];
  instructionPointer?: bigint;
}

export interface RunResult {
  /** the 32-bit value the program returned */
  ret: number;
  /** instructions executed */
  steps: number;
}

/** Check a program as the kernel would before accepting it; throws on the first problem. */
export function checkProgram(insns: SockFilter[]): void {
  if (insns.length === 0 || insns.length > BPF_MAXINSNS) throw new Error(`program length ${insns.length} outside 1..${BPF_MAXINSNS}`);
  insns.forEach((insn, pc) => {
    const where = `instruction ${pc} (code 0x${insn.code.toString(16)})`;
    switch (insn.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (insn.k % 4 !== 0 || insn.k >= SECCOMP_DATA_SIZE) throw new Error(`${where}: load offset ${insn.k} outside seccomp_data`);
        break;
      case BPF_ALU | BPF_AND | BPF_K:
      case BPF_RET | BPF_K:
        break;
      case BPF_JMP | BPF_JA:
        if (pc + 1 + insn.k >= insns.length) throw new Error(`${where}: JA past the end`);
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
      case BPF_JMP | BPF_JGT | BPF_K:
      case BPF_JMP | BPF_JGE | BPF_K:
      case BPF_JMP | BPF_JSET | BPF_K:
        if (pc + 1 + Math.max(insn.jt, insn.jf) >= insns.length) throw new Error(`${where}: jump past the end`);
        break;
      default:
        throw new Error(`${where}: instruction not supported by this interpreter`);
    }
  });
  const last = insns[insns.length - 1]!;
  if (last.code !== (BPF_RET | BPF_K)) throw new Error("program does not end with RET");
}

function argWord(args: (number | bigint)[], index: number, high: boolean): number {
  const value = BigInt(args[index] ?? 0) & ((1n << 64n) - 1n);
  return Number(high ? value >> 32n : value & 0xffffffffn);
}

/** The 32-bit word of struct seccomp_data at a byte offset (little-endian). */
function loadWord(input: SyscallInput, offset: number): number {
  if (offset === SECCOMP_DATA_NR) return input.nr >>> 0;
  if (offset === SECCOMP_DATA_ARCH) return input.arch >>> 0;
  const ip = input.instructionPointer ?? 0n;
  if (offset === 8) return Number(ip & 0xffffffffn);
  if (offset === 12) return Number(ip >> 32n);
  const index = (offset - SECCOMP_DATA_ARGS) >> 3;
  return argWord(input.args ?? [], index, (offset - SECCOMP_DATA_ARGS) % 8 === 4);
}

export function runProgram(insns: SockFilter[], input: SyscallInput): RunResult {
  let a = 0;
  let pc = 0;
  let steps = 0;
  for (;;) {
    const insn = insns[pc];
    if (!insn) throw new Error(`fell off the program at ${pc}`);
    steps++;
    switch (insn.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        a = loadWord(input, insn.k);
        pc++;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        a = (a & insn.k) >>> 0;
        pc++;
        break;
      case BPF_RET | BPF_K:
        return { ret: insn.k >>> 0, steps };
      case BPF_JMP | BPF_JA:
        pc += 1 + insn.k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += 1 + (a === insn.k >>> 0 ? insn.jt : insn.jf);
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += 1 + (a > insn.k >>> 0 ? insn.jt : insn.jf);
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += 1 + (a >= insn.k >>> 0 ? insn.jt : insn.jf);
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += 1 + ((a & insn.k) !== 0 ? insn.jt : insn.jf);
        break;
      default:
        throw new Error(`unsupported instruction 0x${insn.code.toString(16)} at ${pc}`);
    }
  }
}

/** Check and run an encoded filter (struct sock_filter[]). */
export function runFilter(filter: Uint8Array, input: SyscallInput): RunResult {
  const insns = decodeProgram(filter);
  checkProgram(insns);
  return runProgram(insns, input);
}

export type Verdict =
  | { action: "allow" | "log" | "trap" | "kill_thread" | "kill_process" | "notify" }
  | { action: "errno"; errno: number }
  | { action: "trace"; data: number };

/** The action a SECCOMP_RET_* value stands for. */
export function verdict(ret: number): Verdict {
  if (ret === SECCOMP_RET_KILL_PROCESS) return { action: "kill_process" };
  const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = ret & SECCOMP_RET_DATA;
  switch (action) {
    case SECCOMP_RET_ALLOW:
      return { action: "allow" };
    case SECCOMP_RET_LOG:
      return { action: "log" };
    case SECCOMP_RET_TRAP:
      return { action: "trap" };
    case SECCOMP_RET_KILL_THREAD:
      return { action: "kill_thread" };
    case SECCOMP_RET_USER_NOTIF:
      return { action: "notify" };
    case SECCOMP_RET_ERRNO:
      return { action: "errno", errno: data };
    case SECCOMP_RET_TRACE:
      return { action: "trace", data };
    default:
      throw new Error(`unknown seccomp return value 0x${ret.toString(16)}`);
  }
}

/** Run a filter and say what the kernel would do with the call. */
export function judge(filter: Uint8Array, input: SyscallInput): Verdict {
  return verdict(runFilter(filter, input).ret);
}
