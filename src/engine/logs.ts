/**
 * `logs`: the json-file log the monitor writes (rotated files oldest first:
 * <id>-json.log.N ... .1, then the current one), filtered by --since,
 * --until and --tail, with -t's timestamps, and -f following the current
 * file across rotations until the container stops, woken by inotify when
 * the log or the run directory changes.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
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

/** How long a follow waits without any change before it looks whether the container still runs. */
const FOLLOW_IDLE_MS = 1000;
/** At most one read of a busy log per this many ms: a chatty container's writes are read in batches. */
const FOLLOW_BATCH_MS = 10;

/**
 * Wakes a follow when something changes in a directory: the log's (a write,
 * a rotation) or the run directory (the monitor's exit file). inotify
 * through fs.watch; a directory that cannot be watched leaves the idle
 * timeout as the only wake-up.
 */
class ChangeWaiter {
  private wake: (() => void) | undefined;
  private pending = false;
  private readonly watchers: ReturnType<typeof watch>[] = [];

  constructor(dirs: string[]) {
    for (const dir of dirs) {
      try {
        this.watchers.push(watch(dir, () => this.changed()));
      } catch {
        // gone or not watchable: the timeout still wakes the follow
      }
    }
  }

  private changed(): void {
    const wake = this.wake;
    this.wake = undefined;
    if (wake) wake();
    else this.pending = true;
  }

  /** Resolves at the next change (at once if one came since the last wait), or after ms. */
  next(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  close(): void {
    for (const watcher of this.watchers) watcher.close();
  }
}

/**
 * The current log file, read through a descriptor held open: after a
 * rotation (the monitor renames it to .1, the older ones one further, and
 * starts a new one) the rest of the old file is still read through it, then
 * the files rotated after it (a busy container may fill several between two
 * reads), then the new one, so a follow loses no line unless the retention
 * (max-file) dropped a file before it was read.
 */
class LogReader {
  private fd: number | undefined;
  private ino = 0;
  private offset = 0;
  /** the bytes after the last newline: a line still being written (split at bytes, never inside a character) */
  private partial: Buffer = Buffer.alloc(0);

  constructor(
    private readonly path: string,
    private readonly onLine: (line: string) => void,
  ) {
    this.open();
  }

  private open(): void {
    try {
      this.fd = openSync(this.path, "r");
    } catch {
      return; // not written yet
    }
    this.ino = fstatSync(this.fd).ino;
    this.offset = 0;
  }

  /** Everything written since the last read, in whole lines. */
  read(): void {
    if (this.fd === undefined) {
      // a file not written yet (ino 0), or the new file of a rotation that was not there yet
      if (this.ino !== 0) this.switchTo(this.ino);
      else {
        this.open();
        if (this.fd !== undefined) this.offset = this.readFrom(this.fd, 0);
      }
      return;
    }
    let st;
    try {
      st = statSync(this.path);
    } catch {
      st = undefined; // between the rotation's rename and the new file
    }
    if (st !== undefined && st.ino === this.ino && st.size < this.offset) this.offset = 0; // truncated
    this.offset = this.readFrom(this.fd, this.offset);
    if (st === undefined || st.ino === this.ino) return;
    const finished = this.ino;
    closeSync(this.fd);
    this.fd = undefined;
    this.switchTo(finished);
  }

  /**
   * After the file with inode `finished` was read to its end: the files
   * rotated after it, then the current one. The current one is opened first,
   * pinned, so a rotation while the rotated ones are looked up cannot skip
   * it; when there is none yet, the next read tries again.
   */
  private switchTo(finished: number): void {
    this.open();
    if (this.fd === undefined) {
      this.ino = finished;
      return;
    }
    for (const fd of this.rotatedAfter(finished, this.ino)) {
      try {
        this.readFrom(fd, 0);
      } finally {
        closeSync(fd);
      }
    }
    this.offset = this.readFrom(this.fd, 0);
  }

  /**
   * Descriptors of the rotated files newer than the one with inode
   * `finished`, oldest first, without the current one (`current`). Each is
   * opened as it is found and known by its inode: a rotation during the
   * look-up moves the names, not the files (older ones keep the higher
   * numbers), and while the monitor renames them one by one a number may be
   * missing for a moment, so a gap does not end the look-up. When `finished`
   * is not found, rotations moved it past the look-up: it starts again (a
   * few times; after that the retention must have dropped it, and every
   * rotated file is newer).
   */
  private rotatedAfter(finished: number, current: number): number[] {
    for (let attempt = 0; ; attempt++) {
      const { newer, found } = this.lookUpRotated(finished, current);
      if (found || attempt === 4) return newer;
      for (const fd of newer) closeSync(fd);
    }
  }

  private lookUpRotated(finished: number, current: number): { newer: number[]; found: boolean } {
    const base = basename(this.path);
    let highest = 0;
    for (const name of readdirSync(dirname(this.path))) {
      const m = /^(.*)\.(\d+)$/.exec(name);
      if (m !== null && m[1] === base) highest = Math.max(highest, Number(m[2]));
    }
    const newer: number[] = [];
    const seen = new Set([current]);
    for (let i = 1; i <= highest + 1; i++) {
      let fd: number;
      try {
        fd = openSync(`${this.path}.${i}`, "r");
      } catch {
        continue;
      }
      const ino = fstatSync(fd).ino;
      if (ino === finished) {
        closeSync(fd);
        return { newer, found: true };
      }
      if (seen.has(ino)) closeSync(fd);
      else newer.unshift(fd);
      seen.add(ino);
    }
    return { newer, found: false };
  }

  /** Read fd from offset to its end, passing on whole lines; the offset reached. */
  private readFrom(fd: number, offset: number): number {
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, offset);
      if (n <= 0) return offset;
      offset += n;
      let data = Buffer.concat([this.partial, buf.subarray(0, n)]);
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a)) {
        this.onLine(data.subarray(0, nl).toString("utf8"));
        data = data.subarray(nl + 1);
      }
      this.partial = Buffer.from(data);
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export async function containerLogs(ctx: EngineContext, record: ContainerRecord, options: LogsOptions, sink: LogSink): Promise<void> {
  const paths = containerPaths(ctx, record.id);
  const hostConfig = record.hostConfig as { LogConfig?: { Type?: string } };
  if (hostConfig.LogConfig?.Type === "none") {
    throw new ContainrError("USAGE", 'configured logging driver does not support reading: the container was created with --log-driver none');
  }
  let entries: LogEntry[] = [];
  const collect = (line: string) => {
    const entry = parseLine(line);
    if (entry !== undefined && inWindow(entry, options)) entries.push(entry);
  };
  for (const file of logFiles(paths.log).slice(0, -1)) readWhole(file).split("\n").forEach(collect);
  // the current file through the reader a follow goes on with: no line between the two is lost or repeated
  let emit = collect;
  const current = new LogReader(paths.log, (line) => emit(line));
  try {
    current.read();
    if (options.tail !== undefined) entries = options.tail === 0 ? [] : entries.slice(-options.tail);
    for (const entry of entries) write(entry, options, sink);
    if (!options.follow) return;

    emit = (line) => {
      const entry = parseLine(line);
      if (entry !== undefined && inWindow(entry, options)) write(entry, options, sink);
    };
    const changes = new ChangeWaiter([paths.data, paths.run]);
    try {
      for (;;) {
        current.read();
        if (options.until !== undefined && Date.now() > options.until) return;
        let running: boolean;
        try {
          running = observe(ctx, ctx.records.get(record.id)).state.Running;
        } catch {
          running = false;
        }
        if (!running) {
          current.read();
          return;
        }
        const readAt = Date.now();
        await changes.next(options.until === undefined ? FOLLOW_IDLE_MS : Math.max(0, Math.min(FOLLOW_IDLE_MS, options.until - Date.now() + 1)));
        const since = Date.now() - readAt;
        if (since < FOLLOW_BATCH_MS) await Bun.sleep(FOLLOW_BATCH_MS - since);
      }
    } finally {
      changes.close();
    }
  } finally {
    current.close();
  }
}
