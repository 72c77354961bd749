/**
 * The OCI linux.seccomp profile compiled to a classic BPF program for
 * seccomp(SECCOMP_SET_MODE_FILTER), with libseccomp's and runc's semantics
 * and no libseccomp. The C child only loads the bytes (see docs/security.md).
 *
 * Program shape:
 *
 *   load seccomp_data.arch
 *   one JEQ per architecture in the filter (native first) → its section
 *   RET KILL_PROCESS                     (an architecture not in the filter)
 *   section: load seccomp_data.nr, then a binary search (JGE) over the
 *   ranges of system call numbers that share one outcome; each leaf is a
 *   RET, or the argument checks of one system call followed by RETs.
 *
 * Consecutive numbers with the same action collapse into one range, so
 * Docker's default profile is a tree of about a hundred ranges: every
 * system call costs about eight instructions instead of a chain of 350
 * compares.
 *
 * Semantics, as runc + libseccomp:
 * - The native architecture is always in the filter; the profile's
 *   architectures are added. x86_64 and x32 share AUDIT_ARCH_X86_64 and are
 *   told apart by __X32_SYSCALL_BIT; an x32 call when only x86_64 is in the
 *   filter (or the reverse) gets the bad-architecture action.
 * - A known architecture we hold no system call table for (ARM, MIPS, ...)
 *   is left out of the filter with a debug line, unless it is the native
 *   one: its processes then get the bad-architecture action, which is
 *   stricter than libseccomp, never looser.
 * - Bad-architecture action: SECCOMP_RET_KILL_PROCESS (libseccomp's
 *   default is KILL, which kills one thread of a possibly multi-threaded
 *   process; killing the whole process is the safe version of that).
 * - Names are resolved per architecture; a name unknown on every
 *   architecture of the filter is skipped with a debug line (runc).
 * - Rules whose action equals the default action are dropped (libseccomp
 *   refuses them, runc skips them).
 * - Several rules for one system call: the rules with arguments are checked
 *   first, in profile order, first match wins; then the first rule without
 *   arguments; then the default action. Several conditions in one rule are
 *   ANDed.
 * - 64-bit arguments are compared on both 32-bit halves (high first), on
 *   32-bit architectures only the low half (libseccomp).
 * - Like runc's patchbpf, a system call numbered above the highest number
 *   the profile names for that architecture returns ENOSYS instead of a
 *   denying default action, so that programs fall back from system calls
 *   newer than the profile (clone3, fchmodat2, ...) instead of failing.
 */
import type { Seccomp, SeccompAction, SeccompArg, SeccompOperator } from "../../oci/spec.ts";
import { ContainrError } from "../../diag/errors.ts";
import { log } from "../../diag/log.ts";
import { X32_SYSCALL_BIT, seccompArch, type SeccompArch } from "./arch.ts";
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
  SECCOMP_DATA_NR,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
  argOffsets,
  encodeProgram,
  type SockFilter,
} from "./bpf.ts";

export interface CompileOptions {
  /** libseccomp name of the architecture the container runs on, e.g. SCMP_ARCH_X86_64 (see nativeSeccompArch) */
  nativeArch: string;
}

export interface CompiledSeccomp {
  /** struct sock_filter[] for seccomp(SECCOMP_SET_MODE_FILTER, flags, &(struct sock_fprog){len, filter}) */
  filter: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* bits for seccomp() */
  flags: number;
  /** a rule uses SCMP_ACT_NOTIFY: the loader gets a listener fd back (SECCOMP_FILTER_FLAG_NEW_LISTENER is in flags) */
  notify: boolean;
}

export const SECCOMP_FILTER_FLAG_TSYNC = 1;
export const SECCOMP_FILTER_FLAG_LOG = 2;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 4;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;
export const SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 16;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 32;

const PROFILE_FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};

const EPERM = 1;
const ENOSYS = 38;
/** errno values above this are not errors to the C library (MAX_ERRNO) */
const MAX_ERRNO = 4095;
const BAD_ARCH_ACTION = SECCOMP_RET_KILL_PROCESS;
const U32_END = 2 ** 32;
const U64_MAX = (1n << 64n) - 1n;

function invalid(message: string, hint?: string): ContainrError {
  return new ContainrError("INVALID_CONFIG", message, { hint });
}

function errnoData(errno: number | undefined, field: string): number {
  const value = errno ?? EPERM;
  if (!Number.isInteger(value) || value < 0 || value > MAX_ERRNO) {
    throw invalid(`${field}: errno ${value} is out of range`, `use an errno between 0 and ${MAX_ERRNO}, e.g. 1 (EPERM)`);
  }
  return value;
}

/** The SECCOMP_RET_* value of an action; errnoRet is the data of ERRNO and TRACE, as runc uses it. */
function actionValue(action: SeccompAction, errnoRet: number | undefined, field: string): number {
  switch (action) {
    case "SCMP_ACT_ALLOW":
      return SECCOMP_RET_ALLOW;
    case "SCMP_ACT_ERRNO":
      return (SECCOMP_RET_ERRNO | errnoData(errnoRet, field)) >>> 0;
    case "SCMP_ACT_TRACE":
      return (SECCOMP_RET_TRACE | errnoData(errnoRet, field)) >>> 0;
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return SECCOMP_RET_KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return SECCOMP_RET_KILL_PROCESS;
    case "SCMP_ACT_TRAP":
      return SECCOMP_RET_TRAP;
    case "SCMP_ACT_LOG":
      return SECCOMP_RET_LOG;
    case "SCMP_ACT_NOTIFY":
      return SECCOMP_RET_USER_NOTIF;
    default:
      throw invalid(
        `${field}: unknown action "${String(action)}"`,
        "use SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_TRACE, SCMP_ACT_LOG or SCMP_ACT_NOTIFY",
      );
  }
}

/** Actions that deny a call: for these an unknown, newer call returns ENOSYS (runc's patchbpf). */
function denies(value: number): boolean {
  const action = (value & 0xffff0000) >>> 0;
  return action === SECCOMP_RET_ERRNO || action === SECCOMP_RET_TRAP || value === SECCOMP_RET_KILL_THREAD || value === SECCOMP_RET_KILL_PROCESS;
}

const OPERATORS: readonly SeccompOperator[] = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
];

interface Condition {
  index: number;
  op: SeccompOperator;
  /** the operand, or the mask for MASKED_EQ */
  value: bigint;
  /** the datum for MASKED_EQ */
  valueTwo: bigint;
}

interface ConditionalRule {
  conditions: Condition[];
  action: number;
}

/** What one system call number leads to. */
type Outcome = { kind: "ret"; value: number } | { kind: "rules"; rules: ConditionalRule[]; fallback: number; bits: 32 | 64 };

function u64(value: unknown, field: string): bigint {
  if (typeof value === "bigint") {
    if (value >= 0n && value <= U64_MAX) return value;
  } else if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value < 2 ** 64) {
    return BigInt(value);
  }
  throw invalid(`${field}: ${String(value)} is not an unsigned 64-bit integer`);
}

function parseCondition(arg: SeccompArg, field: string): Condition {
  if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5) {
    throw invalid(`${field}.index: ${arg.index} is not an argument index (0 to 5)`);
  }
  if (!OPERATORS.includes(arg.op)) {
    throw invalid(`${field}.op: unknown operator "${String(arg.op)}"`, `use one of ${OPERATORS.join(", ")}`);
  }
  return {
    index: arg.index,
    op: arg.op,
    value: u64(arg.value, `${field}.value`),
    valueTwo: arg.valueTwo === undefined ? 0n : u64(arg.valueTwo, `${field}.valueTwo`),
  };
}

// ---------------------------------------------------------------------------
// Program builder: instructions with symbolic forward targets, laid out with
// JA trampolines wherever a conditional jump is longer than 255 (jt/jf are
// 8 bits; JA takes a 32-bit offset).

class Label {}

type Item =
  | { kind: "insn"; code: number; k: number }
  | { kind: "cond"; code: number; k: number; jt: Label; jf: Label }
  | { kind: "ja"; target: Label }
  | { kind: "label"; label: Label };

class Builder {
  readonly items: Item[] = [];

  label(): Label {
    return new Label();
  }
  place(label: Label): void {
    this.items.push({ kind: "label", label });
  }
  load(offset: number): void {
    this.items.push({ kind: "insn", code: BPF_LD | BPF_W | BPF_ABS, k: offset });
  }
  and(mask: number): void {
    this.items.push({ kind: "insn", code: BPF_ALU | BPF_AND | BPF_K, k: mask });
  }
  ret(value: number): void {
    this.items.push({ kind: "insn", code: BPF_RET | BPF_K, k: value });
  }
  jump(op: number, k: number, jt: Label, jf: Label): void {
    this.items.push({ kind: "cond", code: BPF_JMP | op | BPF_K, k, jt, jf });
  }
  /** a conditional jump whose false branch is the next instruction */
  jumpIf(op: number, k: number, jt: Label): void {
    const next = this.label();
    this.jump(op, k, jt, next);
    this.place(next);
  }
  /** a conditional jump whose true branch is the next instruction */
  jumpUnless(op: number, k: number, jf: Label): void {
    const next = this.label();
    this.jump(op, k, next, jf);
    this.place(next);
  }

  /** Resolve labels into offsets, inserting trampolines until every conditional jump fits in 8 bits. */
  assemble(): SockFilter[] {
    let items = this.items;
    for (;;) {
      const position = new Map<Label, number>();
      let count = 0;
      for (const item of items) {
        if (item.kind === "label") position.set(item.label, count);
        else count++;
      }
      const offset = (from: number, label: Label): number => {
        const to = position.get(label);
        if (to === undefined || to <= from) throw new Error("seccomp compiler: jump to an unplaced or earlier label");
        return to - from - 1;
      };
      const patched: Item[] = [];
      let changed = false;
      let index = 0;
      for (const item of items) {
        if (item.kind === "cond" && (offset(index, item.jt) > 255 || offset(index, item.jf) > 255)) {
          // Branch to JA instructions placed right behind the conditional jump instead
          // (at most two are inserted, hence the margin for the branch that stays direct).
          const hops: Item[] = [];
          const reach = (target: Label): Label => {
            if (offset(index, target) + 2 <= 255) return target;
            const hop = new Label();
            hops.push({ kind: "label", label: hop }, { kind: "ja", target });
            return hop;
          };
          patched.push({ ...item, jt: reach(item.jt), jf: reach(item.jf) }, ...hops);
          changed = true;
        } else {
          patched.push(item);
        }
        if (item.kind !== "label") index++;
      }
      items = patched;
      if (changed) continue;
      const program: SockFilter[] = [];
      for (const item of items) {
        const at = program.length;
        if (item.kind === "insn") program.push({ code: item.code, jt: 0, jf: 0, k: item.k >>> 0 });
        else if (item.kind === "ja") program.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: offset(at, item.target) });
        else if (item.kind === "cond") program.push({ code: item.code, jt: offset(at, item.jt), jf: offset(at, item.jf), k: item.k >>> 0 });
      }
      return program;
    }
  }
}

// ---------------------------------------------------------------------------
// Argument checks

function splitU64(v: bigint): { hi: number; lo: number } {
  return { hi: Number(v >> 32n), lo: Number(v & 0xffffffffn) };
}

/** Compare the low word (already in A) and go to pass or fail. */
function compareWord(b: Builder, op: SeccompOperator, value: number, mask: number, pass: Label, fail: Label): void {
  switch (op) {
    case "SCMP_CMP_EQ":
      return b.jump(BPF_JEQ, value, pass, fail);
    case "SCMP_CMP_NE":
      return b.jump(BPF_JEQ, value, fail, pass);
    case "SCMP_CMP_GT":
      return b.jump(BPF_JGT, value, pass, fail);
    case "SCMP_CMP_GE":
      return b.jump(BPF_JGE, value, pass, fail);
    case "SCMP_CMP_LT":
      return b.jump(BPF_JGE, value, fail, pass);
    case "SCMP_CMP_LE":
      return b.jump(BPF_JGT, value, fail, pass);
    case "SCMP_CMP_MASKED_EQ":
      b.and(mask);
      return b.jump(BPF_JEQ, value, pass, fail);
  }
}

/** Code that continues at `pass` when the condition holds and jumps to `fail` otherwise. */
function emitCondition(b: Builder, cond: Condition, bits: 32 | 64, pass: Label, fail: Label): void {
  const { lo: loOffset, hi: hiOffset } = argOffsets(cond.index);
  const masked = cond.op === "SCMP_CMP_MASKED_EQ";
  const operand = splitU64(masked ? cond.valueTwo : cond.value);
  const mask = splitU64(cond.value);
  if (bits === 64) {
    b.load(hiOffset);
    switch (cond.op) {
      case "SCMP_CMP_EQ":
        b.jumpUnless(BPF_JEQ, operand.hi, fail);
        break;
      case "SCMP_CMP_MASKED_EQ":
        b.and(mask.hi);
        b.jumpUnless(BPF_JEQ, operand.hi, fail);
        break;
      case "SCMP_CMP_NE":
        b.jumpUnless(BPF_JEQ, operand.hi, pass);
        break;
      case "SCMP_CMP_GT":
      case "SCMP_CMP_GE":
        b.jumpIf(BPF_JGT, operand.hi, pass);
        b.jumpUnless(BPF_JEQ, operand.hi, fail);
        break;
      case "SCMP_CMP_LT":
      case "SCMP_CMP_LE":
        b.jumpIf(BPF_JGT, operand.hi, fail);
        b.jumpUnless(BPF_JEQ, operand.hi, pass);
        break;
    }
  }
  b.load(loOffset);
  compareWord(b, cond.op, operand.lo, mask.lo, pass, fail);
}

function emitOutcome(b: Builder, outcome: Outcome): void {
  if (outcome.kind === "ret") {
    b.ret(outcome.value);
    return;
  }
  for (const rule of outcome.rules) {
    const fail = b.label();
    for (const cond of rule.conditions) {
      const pass = b.label();
      emitCondition(b, cond, outcome.bits, pass, fail);
      b.place(pass);
    }
    b.ret(rule.action);
    b.place(fail);
  }
  b.ret(outcome.fallback);
}

// ---------------------------------------------------------------------------
// Ranges of system call numbers and the search tree over them

interface Range {
  /** first number (inclusive) */
  from: number;
  /** last number + 1 */
  to: number;
  outcome: Outcome;
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  return a.kind === "ret" && b.kind === "ret" && a.value === b.value;
}

/** Cover [0, 2^32) with ranges, merging neighbours that return the same value. */
function buildRanges(base: Range[], points: Map<number, Outcome>): Range[] {
  const ranges: Range[] = [];
  const push = (r: Range) => {
    const last = ranges[ranges.length - 1];
    if (last && last.to === r.from && sameOutcome(last.outcome, r.outcome)) last.to = r.to;
    else ranges.push({ ...r });
  };
  const numbers = [...points.keys()].sort((a, b) => a - b);
  let i = 0;
  for (const segment of base) {
    let cursor = segment.from;
    while (i < numbers.length && numbers[i]! < segment.to) {
      const nr = numbers[i++]!;
      if (nr < cursor) continue;
      if (nr > cursor) push({ from: cursor, to: nr, outcome: segment.outcome });
      push({ from: nr, to: nr + 1, outcome: points.get(nr)! });
      cursor = nr + 1;
    }
    if (cursor < segment.to) push({ from: cursor, to: segment.to, outcome: segment.outcome });
  }
  return ranges;
}

/** Binary search on the number in A: JGE on the first number of the middle range. */
function emitTree(b: Builder, ranges: Range[]): void {
  if (ranges.length === 1) {
    emitOutcome(b, ranges[0]!.outcome);
    return;
  }
  const mid = ranges.length >> 1;
  const upper = b.label();
  b.jumpIf(BPF_JGE, ranges[mid]!.from, upper);
  emitTree(b, ranges.slice(0, mid));
  b.place(upper);
  emitTree(b, ranges.slice(mid));
}

// ---------------------------------------------------------------------------

interface Section {
  auditArch: number;
  arches: SeccompArch[];
}

/** The range of numbers an architecture's calls use within its section. */
function numberSpace(arch: SeccompArch): { from: number; to: number } {
  if (arch.name === "SCMP_ARCH_X86_64") return { from: 0, to: X32_SYSCALL_BIT };
  if (arch.name === "SCMP_ARCH_X32") return { from: X32_SYSCALL_BIT, to: U32_END };
  return { from: 0, to: U32_END };
}

function filterArches(profile: Seccomp, nativeArch: string): SeccompArch[] {
  const native = seccompArch(nativeArch);
  if (!native.syscalls) throw invalid(`seccomp: no system call table for the native architecture ${native.name}`);
  const arches = [native];
  for (const name of profile.architectures ?? []) {
    const arch = seccompArch(name);
    if (arches.includes(arch)) continue;
    if (!arch.syscalls) {
      log.debug(`seccomp: no system call table for ${name}; its processes get the bad-architecture action (kill)`);
      continue;
    }
    arches.push(arch);
  }
  return arches;
}

function sectionsOf(arches: SeccompArch[]): Section[] {
  const sections: Section[] = [];
  for (const arch of arches) {
    const section = sections.find((s) => s.auditArch === arch.auditArch);
    if (section) section.arches.push(arch);
    else sections.push({ auditArch: arch.auditArch, arches: [arch] });
  }
  return sections;
}

interface ParsedRule {
  names: string[];
  action: number;
  conditions: Condition[];
}

function parseRules(profile: Seccomp): { rules: ParsedRule[]; notify: boolean } {
  const rules: ParsedRule[] = [];
  let notify = false;
  (profile.syscalls ?? []).forEach((call, i) => {
    const field = `linux.seccomp.syscalls[${i}]`;
    if (!Array.isArray(call.names)) throw invalid(`${field}.names: missing list of system call names`);
    const action = actionValue(call.action, call.errnoRet, `${field}.action`);
    const conditions = (call.args ?? []).map((arg, j) => parseCondition(arg, `${field}.args[${j}]`));
    if (action === SECCOMP_RET_USER_NOTIF) notify = true;
    rules.push({ names: call.names, action, conditions });
  });
  return { rules, notify };
}

function compileSection(b: Builder, section: Section, rules: ParsedRule[], defaultValue: number, known: Set<string>): void {
  const points = new Map<number, Outcome>();
  const base: Range[] = [];
  const spaces = section.arches.map((arch) => ({ arch, ...numberSpace(arch) })).sort((x, y) => x.from - y.from);
  for (const { arch, from, to } of spaces) {
    const calls = new Map<number, { conditional: ConditionalRule[]; unconditional?: number }>();
    let highest = -1;
    for (const rule of rules) {
      for (const name of rule.names) {
        const nr = arch.syscalls![name];
        if (nr === undefined) continue;
        known.add(name);
        highest = Math.max(highest, nr);
        // libseccomp refuses rules that repeat the default action; runc skips them.
        if (rule.action === defaultValue) continue;
        let call = calls.get(nr);
        if (!call) calls.set(nr, (call = { conditional: [] }));
        if (rule.conditions.length > 0) call.conditional.push({ conditions: rule.conditions, action: rule.action });
        else call.unconditional ??= rule.action;
      }
    }
    for (const [nr, call] of calls) {
      const fallback = call.unconditional ?? defaultValue;
      points.set(
        nr,
        call.conditional.length === 0
          ? { kind: "ret", value: fallback }
          : { kind: "rules", rules: call.conditional, fallback, bits: arch.bits },
      );
    }
    const beyond = denies(defaultValue) && highest >= 0 ? (SECCOMP_RET_ERRNO | ENOSYS) >>> 0 : defaultValue;
    const lastKnown = Math.max(highest + 1, from);
    if (lastKnown > from) base.push({ from, to: lastKnown, outcome: { kind: "ret", value: defaultValue } });
    base.push({ from: lastKnown, to, outcome: { kind: "ret", value: beyond } });
  }
  // Numbers of the audit architecture that belong to no architecture of the filter (x32 without x86_64, ...).
  const covered: Range[] = [];
  let cursor = 0;
  for (const r of base) {
    if (r.from > cursor) covered.push({ from: cursor, to: r.from, outcome: { kind: "ret", value: BAD_ARCH_ACTION } });
    covered.push(r);
    cursor = r.to;
  }
  if (cursor < U32_END) covered.push({ from: cursor, to: U32_END, outcome: { kind: "ret", value: BAD_ARCH_ACTION } });

  b.load(SECCOMP_DATA_NR);
  emitTree(b, buildRanges(covered, points));
}

function parseFlags(profile: Seccomp): number {
  let flags = 0;
  for (const name of profile.flags ?? []) {
    const bit = PROFILE_FLAGS[name];
    if (bit === undefined) {
      throw invalid(`linux.seccomp.flags: unknown flag "${name}"`, `use ${Object.keys(PROFILE_FLAGS).join(", ")}`);
    }
    flags |= bit;
  }
  return flags;
}

/** Compile an OCI seccomp profile into a BPF program for the given native architecture. */
export function compileSeccomp(profile: Seccomp, opts: CompileOptions): CompiledSeccomp {
  if (profile.defaultAction === "SCMP_ACT_NOTIFY") {
    throw invalid("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action", "notify on chosen system calls only");
  }
  const defaultValue = actionValue(profile.defaultAction, profile.defaultErrnoRet, "linux.seccomp.defaultAction");
  let flags = parseFlags(profile);
  const { rules, notify } = parseRules(profile);
  if (notify) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // The kernel refuses TSYNC with a listener unless TSYNC_ESRCH says how to report a failure (libseccomp does the same).
    if (flags & SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  }

  const sections = sectionsOf(filterArches(profile, opts.nativeArch));
  const b = new Builder();
  const starts = sections.map(() => b.label());
  b.load(SECCOMP_DATA_ARCH);
  sections.forEach((section, i) => b.jumpIf(BPF_JEQ, section.auditArch, starts[i]!));
  b.ret(BAD_ARCH_ACTION);
  const known = new Set<string>();
  sections.forEach((section, i) => {
    b.place(starts[i]!);
    compileSection(b, section, rules, defaultValue, known);
  });
  for (const name of new Set(rules.flatMap((r) => r.names))) {
    if (!known.has(name)) log.debug(`seccomp: ignoring unknown system call "${name}"`);
  }

  const program = b.assemble();
  if (program.length > BPF_MAXINSNS) {
    throw invalid(
      `linux.seccomp: the profile compiles to ${program.length} BPF instructions, more than the kernel's limit of ${BPF_MAXINSNS}`,
      "merge rules that share an action, or drop argument filters",
    );
  }
  return { filter: encodeProgram(program), flags, notify };
}
