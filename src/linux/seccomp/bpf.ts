/**
 * Classic BPF as seccomp uses it (<linux/filter.h>, <linux/seccomp.h>):
 * opcodes, return values, the seccomp_data layout, and struct sock_filter
 * encoding. Shared by the compiler and the test interpreter.
 */

export const BPF_LD = 0x00;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_W = 0x00;
export const BPF_ABS = 0x20;
export const BPF_K = 0x00;
export const BPF_AND = 0x50;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;

/** The kernel's limit on a classic BPF program's length. */
export const BPF_MAXINSNS = 4096;

/** Offsets into struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }. */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export const SECCOMP_DATA_ARGS = 16;
export const SECCOMP_DATA_SIZE = 64;

/** Offsets of the low and high 32-bit halves of args[index] (little-endian). */
export function argOffsets(index: number): { lo: number; hi: number } {
  const base = SECCOMP_DATA_ARGS + index * 8;
  return { lo: base, hi: base + 4 };
}

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

/** struct sock_filter */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

const INSN_SIZE = 8;

/** struct sock_filter[] in the byte order of the host (every supported architecture is little-endian). */
export function encodeProgram(insns: readonly SockFilter[]): Uint8Array {
  const bytes = new Uint8Array(insns.length * INSN_SIZE);
  const view = new DataView(bytes.buffer);
  insns.forEach((insn, i) => {
    const at = i * INSN_SIZE;
    view.setUint16(at, insn.code, true);
    view.setUint8(at + 2, insn.jt);
    view.setUint8(at + 3, insn.jf);
    view.setUint32(at + 4, insn.k >>> 0, true);
  });
  return bytes;
}

export function decodeProgram(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % INSN_SIZE !== 0) throw new Error(`BPF program length ${bytes.length} is not a multiple of ${INSN_SIZE}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const insns: SockFilter[] = [];
  for (let at = 0; at < bytes.length; at += INSN_SIZE) {
    insns.push({ code: view.getUint16(at, true), jt: view.getUint8(at + 2), jf: view.getUint8(at + 3), k: view.getUint32(at + 4, true) });
  }
  return insns;
}
