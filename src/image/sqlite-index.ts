/**
 * containr's SQLite indexes (images, container records, volumes): one file per
 * store, opened the same way by every short-lived containr process so that
 * any number of them can read and write at once (ADR 0004):
 *
 * - the file is created 0600 before SQLite opens it (records hold
 *   environment variables; SQLite gives -wal and -shm the same mode);
 * - WAL mode, so readers never wait for a writer;
 * - every change is one BEGIN IMMEDIATE transaction, which takes the write
 *   lock up front, and writers queue on busy_timeout instead of failing;
 * - the few BUSY answers SQLite gives without calling the busy handler
 *   (the first switch to WAL by concurrent openers, WAL recovery) are
 *   retried here; past BUSY_TIMEOUT_MS the error is TIMEOUT naming the
 *   index, never a raw SQLite message.
 */
import type { Database } from "bun:sqlite";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ContainrError, toContainrError } from "../diag/errors.ts";

/** How long a writer waits for another one before giving up; far above any real transaction. */
export const BUSY_TIMEOUT_MS = 30_000;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/**
 * Run fn, retrying while SQLite reports the database busy: `busy_timeout`
 * waits inside SQLite, but a few answers come without it (the first switch
 * to WAL by concurrent openers, WAL recovery).
 */
export function retryWhileBusy<T>(what: string, index: string, fn: () => T): T {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err)) throw err;
      if (Date.now() > deadline) {
        throw new ContainrError("TIMEOUT", `${what}: the ${index} stayed locked for ${BUSY_TIMEOUT_MS / 1000}s`, {
          hint: `another containr process holds the ${index}; check for a hung process`,
          cause: err,
        });
      }
      Bun.sleepSync(pause);
    }
  }
}

/**
 * Open a SQLite database. bun:sqlite is loaded here, on first use, not by an
 * import: the bundle hoists builtin imports to its start, and loading SQLite
 * costs every command (version, every `oci` command) ~3 ms.
 */
export function openDatabase(path: string, options: { create: boolean; strict?: boolean }): Database {
  const { Database: SqliteDatabase, constants } = require("bun:sqlite") as typeof import("bun:sqlite");
  const db = new SqliteDatabase(path, options);
  // Keep -wal and -shm when the last connection closes: every containr
  // command opens and closes the indexes, and re-creating the WAL costs a
  // directory fsync and an unlink each time. Empty it at each checkpoint
  // (size limit 0): a WAL kept with its frames is read whole to rebuild the
  // index at the next open, and copied into the database again at its close.
  db.fileControl(constants.SQLITE_FCNTL_PERSIST_WAL, 1);
  db.run("PRAGMA journal_size_limit = 0");
  return db;
}

/**
 * Open a store kept in DATA_ROOT/subdir (make opens it there); a failure
 * names the directory, keeping the inner error's code and hint.
 */
export function openStoreIn<T>(dataRoot: string, subdir: string, what: string, make: (dir: string) => T): T {
  const dir = join(resolve(dataRoot), subdir);
  try {
    return make(dir);
  } catch (err) {
    const inner = toContainrError(err);
    throw new ContainrError(inner.code, `open the ${what} in ${dir}: ${inner.message}`, { hint: inner.hint, cause: inner });
  }
}

/** An open index: the database, and how to run reads and writes on it without lock errors. */
export class SqliteIndex {
  readonly db: Database;

  /**
   * Open (creating) DIR/FILE. `schema` holds the statements that create
   * version `version` of an empty database; a database written by a newer
   * containr is refused.
   */
  constructor(
    readonly dir: string,
    file: string,
    /** "container index", "volume index": for messages */
    readonly what: string,
    version: number,
    schema: string[],
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, file);
    closeSync(openSync(path, "a", 0o600));
    this.db = openDatabase(path, { create: true });
    this.db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.retryWhileBusy(`open the ${what}`, () => {
      this.db.run("PRAGMA journal_mode = WAL");
      this.db.run("PRAGMA synchronous = NORMAL");
      this.migrate(path, version, schema);
    });
  }

  private migrate(path: string, wanted: number, schema: string[]): void {
    const version = () => (this.db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
    if (version() === wanted) return;
    this.db
      .transaction(() => {
        const current = version();
        if (current === wanted) return;
        if (current > wanted) {
          throw new ContainrError("INVALID_CONFIG", `${path}: written by a newer containr (schema ${current})`, {
            hint: "use the containr version that created this data root, or a newer one",
          });
        }
        for (const statement of schema) this.db.run(statement);
        this.db.run(`PRAGMA user_version = ${wanted}`);
      })
      .immediate();
  }

  /** Run fn, retrying while SQLite reports the database busy. */
  retryWhileBusy<T>(what: string, fn: () => T): T {
    return retryWhileBusy(what, this.what, fn);
  }

  /** One write transaction, queued behind other writers. */
  write<T>(what: string, fn: () => T): T {
    return this.retryWhileBusy(what, () => this.db.transaction(fn).immediate());
  }

  close(): void {
    this.db.close();
  }
}

/** Paths mounted at or below `dir`, from /proc/self/mountinfo (field 5, octal-escaped). */
export function mountsBelow(dir: string): string[] {
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const line of text.split("\n")) {
    const field = line.split(" ")[4];
    if (field === undefined) continue;
    const mountPoint = field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    if (mountPoint === dir || mountPoint.startsWith(`${dir}/`)) found.push(mountPoint);
  }
  return found;
}
