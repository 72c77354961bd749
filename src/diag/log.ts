import type { ConsolaInstance, LogObject } from "consola/core";
import { writeSync } from "node:fs";
import type { ContainrError } from "./errors.ts";

export type LogLevelName = "error" | "warn" | "info" | "debug" | "trace";
export type LogFormat = "text" | "json";

const LEVELS: Record<LogLevelName, number> = { error: 0, warn: 1, info: 3, debug: 4, trace: 5 };
const TEXT_LABELS: Record<number, string> = { 0: "error", 1: "warn", 2: "info", 3: "info", 4: "debug", 5: "trace" };

export function isLogLevel(value: string): value is LogLevelName {
  return Object.hasOwn(LEVELS, value);
}

/**
 * Where diagnostics go. Never stdout: stdout carries data only (ps, inspect,
 * logs, export). By default stderr; `containr oci --log FILE` sends them to a
 * file as runc does (containerd reads runc's errors from that file).
 */
let outputFd = 2;
let format: LogFormat = "text";

function emit(line: string): void {
  try {
    writeSync(outputFd, line.endsWith("\n") ? line : `${line}\n`);
  } catch {
    // A closed or full diagnostics stream must not turn into a second failure.
  }
}

function levelName(level: number): string {
  return TEXT_LABELS[Math.max(0, Math.min(5, level))] ?? "info";
}

function messageOf(obj: LogObject): string {
  const { formatWithOptions } = require("node:util") as typeof import("node:util");
  return formatWithOptions({ colors: false, breakLength: Infinity }, ...(obj.args as unknown[]));
}

const reporter = {
  log(obj: LogObject) {
    const msg = messageOf(obj);
    if (format === "json") {
      const record: Record<string, unknown> = { level: levelName(obj.level), time: obj.date.toISOString(), msg };
      if (obj.tag) record.source = obj.tag;
      emit(JSON.stringify(record));
    } else {
      const tag = obj.tag ? `${obj.tag}: ` : "";
      emit(obj.level <= 1 ? `${levelName(obj.level) === "warn" ? "Warning" : "Error"}: ${tag}${msg}` : `${levelName(obj.level)}: ${tag}${msg}`);
    }
  },
};

let level = LEVELS.warn;
let instance: ConsolaInstance | undefined;

/**
 * consola, created on the first message that passes the level: most runs log
 * nothing, and loading it costs milliseconds of start-up on every command.
 * consola/core: no fancy reporter; throttle 0: no folding of repeated lines.
 */
function consola(): ConsolaInstance {
  if (!instance) {
    const { createConsola } = require("consola/core") as typeof import("consola/core");
    instance = createConsola({ level, throttle: 0, reporters: [reporter], stdout: process.stderr, stderr: process.stderr });
  }
  return instance;
}

type LogFn = (message: unknown, ...args: unknown[]) => void;
const at =
  (threshold: number, method: "error" | "warn" | "info" | "debug" | "trace"): LogFn =>
  (...args) => {
    if (level >= threshold) consola()[method](...(args as [unknown, ...unknown[]]));
  };

/** The logger for diagnostics (stderr, or --log FILE). */
export const log = {
  error: at(LEVELS.error, "error"),
  warn: at(LEVELS.warn, "warn"),
  info: at(LEVELS.info, "info"),
  debug: at(LEVELS.debug, "debug"),
  trace: at(LEVELS.trace, "trace"),
  get level(): number {
    return level;
  },
  set level(value: number) {
    level = value;
    if (instance) instance.level = value;
  },
};

export interface LogSettings {
  level?: LogLevelName;
  format?: LogFormat;
  /** file that receives diagnostics instead of stderr (runc's --log) */
  file?: string;
}

/** Apply --log-level/--debug/--log-format/--log, with CONTAINR_LOG_LEVEL as the default level. */
export function configureLogging(settings: LogSettings, openFile: (path: string) => number): void {
  const envLevel = process.env.CONTAINR_LOG_LEVEL;
  const requested = settings.level ?? (envLevel && isLogLevel(envLevel) ? envLevel : undefined);
  if (requested) log.level = LEVELS[requested];
  if (settings.format) format = settings.format;
  if (settings.file) outputFd = openFile(settings.file);
}

export function logFormat(): LogFormat {
  return format;
}

export function debugEnabled(): boolean {
  return log.level >= LEVELS.debug;
}

/**
 * Report an error the way users and scripts read it: on a terminal
 * "Error: [CODE] message" and "Hint: ..."; with --log-format json one object
 * with level, time, msg, code, hint and cause.
 */
export function reportError(err: ContainrError): void {
  if (format === "json") {
    const record: Record<string, unknown> = {
      level: "error",
      time: new Date().toISOString(),
      msg: err.message,
      code: err.code,
    };
    if (err.hint) record.hint = err.hint;
    const chain = err.causeChain();
    if (chain.length > 0) record.cause = chain;
    emit(JSON.stringify(record));
    return;
  }
  emit(`Error: [${err.code}] ${err.message}`);
  if (err.hint) emit(`Hint: ${err.hint}`);
}

/**
 * Step timings for --debug: `const t = stepTimer("run")` then
 * `t.step("cgroup")` after each step logs how long it took, and `t.done()`
 * the total.
 */
export function stepTimer(what: string) {
  const start = performance.now();
  let last = start;
  return {
    step(name: string): void {
      if (!debugEnabled()) return;
      const now = performance.now();
      log.debug(`${what}: ${name} took ${(now - last).toFixed(2)} ms`);
      last = now;
    },
    done(): void {
      if (!debugEnabled()) return;
      log.debug(`${what}: total ${(performance.now() - start).toFixed(2)} ms`);
    },
  };
}
