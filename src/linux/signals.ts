/**
 * Signal names and numbers, for --stop-signal, the image's StopSignal,
 * `kill -s`, and `oci kill` (engine and runtime share this one table).
 * Accepted forms are Docker's (moby/sys/signal ParseSignal):
 * "SIGTERM", "TERM", "term", "15", "RTMIN+3", "SIGRTMAX-2". Numbers are the
 * Linux generic ones (x86_64 and aarch64 agree). RTMIN is 34, as in Docker's
 * table: glibc keeps 32 and 33 for its own threads.
 */
import { ContainrError } from "../diag/errors.ts";

const STANDARD: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17, CONT: 18, STOP: 19, TSTP: 20,
  TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29,
  PWR: 30, SYS: 31,
};

export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

export const SIGKILL = 9;
export const SIGTERM = 15;

/** The signal Docker stops a container with when neither the image nor --stop-signal names one. */
export const DEFAULT_STOP_SIGNAL = "SIGTERM";

/** name without "SIG" → number, real-time signals included (RTMIN, RTMIN+1 .. RTMAX-1, RTMAX). */
const BY_NAME: ReadonlyMap<string, number> = (() => {
  const map = new Map(Object.entries(STANDARD));
  map.set("RTMIN", SIGRTMIN);
  map.set("RTMAX", SIGRTMAX);
  const half = (SIGRTMAX - SIGRTMIN) / 2;
  for (let i = 1; i <= half; i++) {
    map.set(`RTMIN+${i}`, SIGRTMIN + i);
    if (SIGRTMAX - i > SIGRTMIN + half) map.set(`RTMAX-${i}`, SIGRTMAX - i);
  }
  return map;
})();

/** number → canonical name ("SIGTERM", "SIGRTMIN+3"); aliases (IOT, CLD, POLL) never win. */
const BY_NUMBER: ReadonlyMap<number, string> = (() => {
  const map = new Map<number, string>();
  for (const [name, num] of BY_NAME) {
    if (name === "IOT" || name === "CLD" || name === "POLL") continue;
    if (!map.has(num)) map.set(num, `SIG${name}`);
  }
  return map;
})();

function invalid(raw: string): ContainrError {
  return new ContainrError("USAGE", `invalid signal: ${raw}`, {
    hint: "use a signal name such as SIGTERM, TERM or KILL, or its number (1-64)",
  });
}

/**
 * The number of a signal given as a name or a number. Throws a USAGE error
 * ("invalid signal: X") for anything else, 0 included.
 */
export function parseSignal(raw: string): number {
  const text = raw.trim();
  if (/^[0-9]+$/.test(text)) {
    const num = Number(text);
    if (num < 1 || num > SIGRTMAX) throw invalid(raw);
    return num;
  }
  const upper = text.toUpperCase();
  const num = BY_NAME.get(upper.startsWith("SIG") ? upper.slice(3) : upper);
  if (num === undefined) throw invalid(raw);
  return num;
}

/** The canonical name of a signal number ("SIGKILL"), or undefined when it has none. */
export function signalName(num: number): string | undefined {
  return BY_NUMBER.get(num);
}

/** A signal given by name or number, spelled canonically ("kill" → "SIGKILL", "15" → "SIGTERM"). */
export function canonicalSignal(raw: string): string {
  const num = parseSignal(raw);
  return signalName(num) ?? String(num);
}
