/**
 * `logs`: the json-file log the monitor writes (rotated files oldest first:
 * <id>-json.log.N ... .1, then the current one), filtered by --since,
 * --until and --tail, with -t's timestamps, and -f following the current
 * file across rotations until the container stops.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { ContainrError } from "../diag/errors.ts";
import { observe } from "./container-state.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import type { ContainerRecord } from "./records.ts";

export interface LogEntry {
  log: string;
  stream: "stdout" | "stderr";
  time: string;
}

export interface LogsOptions {
  follow: boolean;
  /** last N lines; undefined: all */
  tail?: number;
  /** epoch milliseconds (parseLogTime) */
  since?: number;
  until?: number;
  timestamps: boolean;
}

export interface LogSink {
  stdout(text: string): void;
  stderr(text: string): void;
}

function parseLine(line: string): LogEntry | undefined {
  if (line === "") return undefined;
  try {
    return JSON.parse(line) as LogEntry;
  } catch {
    return undefined;
  }
}

/** Docker's -t format: RFC 3339 with exactly nine fraction digits. */
export function fixedNano(time: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(time);
  if (m === null) return time;
  return `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}Z`;
}

/** Milliseconds of an RFC 3339 time (nanoseconds beyond the millisecond are dropped). */
function timeMs(time: string): number {
  return Date.parse(time);
}

/**
 * --since/--until values as Docker takes them: a Unix time (seconds, with a
 * fraction), an RFC 3339 time, or a duration back from now ("10m", "1h30m").
 */
export function parseLogTime(value: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const duration = /^((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(value);
  if (duration !== null) {
    const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    let total = 0;
    for (const part of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(part[1]) * (units[part[2] as string] as number);
    return now - total;
  }
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) {
    throw new ContainrError("USAGE", `invalid value for "since"/"until": ${value}`, {
      hint: "give a Unix timestamp, an RFC 3339 time (2024-01-02T15:04:05Z) or a duration such as 10m",
    });
  }
  return parsed;
}

function readWhole(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** The log files, oldest first. */
function logFiles(path: string): string[] {
  const rotated: string[] = [];
  for (let i = 1; existsSync(`${path}.${i}`); i++) rotated.unshift(`${path}.${i}`);
  return [...rotated, path];
}

function write(entry: LogEntry, options: LogsOptions, sink: LogSink): void {
  const text = options.timestamps ? `${fixedNano(entry.time)} ${entry.log}` : entry.log;
  if (entry.stream === "stderr") sink.stderr(text);
  else sink.stdout(text);
}

function inWindow(entry: LogEntry, options: LogsOptions): boolean {
  const t = timeMs(entry.time);
  if (options.since !== undefined && t < options.since) return false;
  if (options.until !== undefined && t > options.until) return false;
  return true;
}

export async function containerLogs(ctx: EngineContext, record: ContainerRecord, options: LogsOptions, sink: LogSink): Promise<void> {
  const paths = containerPaths(ctx, record.id);
  const hostConfig = record.hostConfig as { LogConfig?: { Type?: string } };
  if (hostConfig.LogConfig?.Type === "none") {
    throw new ContainrError("USAGE", 'configured logging driver does not support reading: the container was created with --log-driver none');
  }
  let entries: LogEntry[] = [];
  for (const file of logFiles(paths.log)) {
    for (const line of readWhole(file).split("\n")) {
      const entry = parseLine(line);
      if (entry !== undefined && inWindow(entry, options)) entries.push(entry);
    }
  }
  if (options.tail !== undefined) entries = options.tail === 0 ? [] : entries.slice(-options.tail);
  for (const entry of entries) write(entry, options, sink);
  if (!options.follow) return;

  // Follow the current file from its end; a rotation shows as a new inode or a shorter file.
  let ino = 0;
  let offset = 0;
  try {
    const st = statSync(paths.log);
    ino = st.ino;
    offset = st.size;
  } catch {
    // not written yet
  }
  let partial = "";
  const drain = () => {
    let st;
    try {
      st = statSync(paths.log);
    } catch {
      return;
    }
    if (st.ino !== ino || st.size < offset) {
      ino = st.ino;
      offset = 0;
      partial = "";
    }
    if (st.size <= offset) return;
    const fd = openSync(paths.log, "r");
    try {
      const buf = Buffer.alloc(st.size - offset);
      const n = readSync(fd, buf, 0, buf.length, offset);
      offset += n;
      const text = partial + buf.subarray(0, n).toString("utf8");
      const lines = text.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const entry = parseLine(line);
        if (entry !== undefined && inWindow(entry, options)) write(entry, options, sink);
      }
    } finally {
      closeSync(fd);
    }
  };
  for (;;) {
    drain();
    if (options.until !== undefined && Date.now() > options.until) return;
    let running: boolean;
    try {
      running = observe(ctx, ctx.records.get(record.id)).state.Running;
    } catch {
      running = false;
    }
    if (!running) {
      drain();
      return;
    }
    await Bun.sleep(100);
  }
}
