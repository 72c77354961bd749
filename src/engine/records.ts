/**
 * Container records under the data root (docs/adr/0004-container-records.md):
 *
 *   ROOT/containers/index.db     every container's record and name: SQLite in WAL mode
 *   ROOT/containers/<id>/        the container's own files (bundle, logs, hosts...), by others
 *
 * The record is the engine's configuration of a container: what create was
 * asked for. Runtime state (pid, exit status) is not here: the runtime and the
 * monitor keep it as files under the run root, so that a crashed CLI can
 * never leave a running container that the index says is gone.
 *
 * Every change is one BEGIN IMMEDIATE transaction, so concurrent writers
 * queue (busy_timeout) instead of failing, a name is taken by exactly one
 * container (UNIQUE column), and a SIGKILL at any point leaves either the
 * old or the new state. The directory follows its row: made after the row
 * is committed, removed after the row is deleted, so a directory without a
 * row is always a leftover (swept by remove()).
 */
import type { Database, Statement } from "bun:sqlite";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { ContainrError, toContainrError } from "../diag/errors.ts";
import { containerNotFound, generateId, isFullId, nameInUse, resolveReference, shortId, validateName } from "./ids.ts";
import { generateName, NAME_ATTEMPTS } from "./names.ts";
import { mountsBelow, SqliteIndex } from "../image/sqlite-index.ts";

/** A JSON-serialisable object: the engine's own config types, stored as they are. */
export type JsonObject = object;

export interface ContainerRecord {
  /** 64 hex digits */
  id: string;
  /** without Docker's leading "/" */
  name: string;
  /** RFC 3339 UTC time of create */
  created: string;
  /** the image reference as the user typed it (ps shows it) */
  image: string;
  /** the image's config digest (sha256:...), "" when not known */
  imageId: string;
  /** the process the container runs: path then arguments */
  command: string[];
  labels: Record<string, string>;
  /** the engine's container config (env, working dir, user, tty, stop signal...) */
  config: JsonObject;
  /** the engine's host config (resources, restart policy, network mode...) */
  hostConfig: JsonObject;
  mounts: JsonObject[];
  /** the OCI bundle directory */
  bundle: string;
}

/** What create() takes: the record without what the store assigns. */
export type NewContainerRecord = Omit<ContainerRecord, "id" | "name" | "created" | "bundle"> & {
  /** a pre-drawn id (generateId()); drawn here when absent */
  id?: string;
  /** --name; a generated adjective_surname when absent */
  name?: string;
  /** defaults to ROOT/containers/<id>/bundle */
  bundle?: string;
};

export interface RecordStore {
  /** ROOT/containers/<id>: the container's directory, which create() makes */
  containerDir(id: string): string;
  /** Store a new container, taking its name atomically (NAME_IN_USE if another has it). */
  create(record: NewContainerRecord): ContainerRecord;
  /** The container a user's reference means: full id, name, or unique id prefix. */
  get(ref: string): ContainerRecord;
  /** Every container, newest first. */
  list(): ContainerRecord[];
  /**
   * Read-modify-write one record atomically. `change` gets a copy and returns
   * the new record; it must not change id or name (use rename).
   */
  update(id: string, change: (record: ContainerRecord) => ContainerRecord): ContainerRecord;
  rename(id: string, newName: string): ContainerRecord;
  /** Delete the record, then the container's directory. */
  remove(id: string): void;
  /** Remove directories left without a record by a crash; returns the ids removed. */
  sweepOrphans(): string[];
  close(): void;
}

const SCHEMA_VERSION = 1;
const INDEX_FILE = "index.db";
// rowid orders the list: inserts are serialised, so it is creation order.
const SCHEMA = ["CREATE TABLE containers (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL UNIQUE, record TEXT NOT NULL) STRICT"];

interface Row {
  id: string;
  name: string;
  record: string;
}

type StoredFields = Omit<ContainerRecord, "id" | "name">;

function toRecord(row: Row): ContainerRecord {
  const stored = JSON.parse(row.record) as StoredFields;
  return { id: row.id, name: row.name, ...stored };
}

function storedFields(record: ContainerRecord): string {
  const { id: _id, name: _name, ...rest } = record;
  return JSON.stringify(rest);
}

/**
 * A container's directory must hold no mounts when it is deleted: a
 * recursive delete would go through a bind mount or a volume into host data.
 */
function assertNothingMounted(dir: string): void {
  const mounts = mountsBelow(dir);
  if (mounts.length > 0) {
    throw new ContainrError("INVALID_STATE", `remove ${dir}: still mounted: ${mounts.join(", ")}`, {
      hint: "stop the container (or unmount these paths) before removing it",
    });
  }
}

class SqliteRecordStore implements RecordStore {
  private readonly index: SqliteIndex;
  private readonly db: Database;
  private readonly byIdStmt: Statement<Row, [string]>;
  private readonly byNameStmt: Statement<Row, [string]>;
  private readonly byPrefixStmt: Statement<Row, [string]>;
  private readonly listStmt: Statement<Row, []>;
  private readonly idsStmt: Statement<{ id: string }, []>;
  private readonly insertStmt: Statement<unknown, [string, string, string]>;
  private readonly updateStmt: Statement<unknown, [string, string]>;
  private readonly renameStmt: Statement<unknown, [string, string]>;
  private readonly deleteStmt: Statement<unknown, [string]>;

  constructor(private readonly dir: string) {
    this.index = new SqliteIndex(dir, INDEX_FILE, "container index", SCHEMA_VERSION, SCHEMA);
    this.db = this.index.db;
    this.byIdStmt = this.db.query<Row, [string]>("SELECT id, name, record FROM containers WHERE id = ?");
    this.byNameStmt = this.db.query<Row, [string]>("SELECT id, name, record FROM containers WHERE name = ?");
    this.byPrefixStmt = this.db.query<Row, [string]>("SELECT id, name, record FROM containers WHERE id GLOB ? LIMIT 2");
    this.listStmt = this.db.query<Row, []>("SELECT id, name, record FROM containers ORDER BY rowid DESC");
    this.idsStmt = this.db.query<{ id: string }, []>("SELECT id FROM containers");
    this.insertStmt = this.db.query<unknown, [string, string, string]>("INSERT INTO containers (id, name, record) VALUES (?, ?, ?)");
    this.updateStmt = this.db.query<unknown, [string, string]>("UPDATE containers SET record = ? WHERE id = ?");
    this.renameStmt = this.db.query<unknown, [string, string]>("UPDATE containers SET name = ? WHERE id = ?");
    this.deleteStmt = this.db.query<unknown, [string]>("DELETE FROM containers WHERE id = ?");
  }

  /** One write transaction, queued behind other writers. */
  private write<T>(what: string, fn: () => T): T {
    return this.index.write(what, fn);
  }

  containerDir(id: string): string {
    if (!isFullId(id)) throw new ContainrError("INTERNAL", `not a container id: ${JSON.stringify(id)}`);
    return join(this.dir, id);
  }

  create(input: NewContainerRecord): ContainerRecord {
    const id = input.id ?? generateId();
    const dir = this.containerDir(id);
    const wanted = input.name === undefined ? undefined : validateName(input.name);
    const { id: _id, name: _name, bundle, ...fields } = input;
    const record = this.write("create container", () => {
      if (this.byIdStmt.get(id) !== null) {
        throw new ContainrError("CONTAINER_EXISTS", `container ${id} already exists`);
      }
      const name = wanted ?? this.freeGeneratedName(id);
      const owner = this.byNameStmt.get(name);
      if (owner !== null) throw nameInUse(name, owner.id);
      const created: ContainerRecord = {
        ...fields,
        id,
        name,
        created: new Date().toISOString(),
        bundle: bundle ?? join(dir, "bundle"),
      };
      this.insertStmt.run(id, name, storedFields(created));
      return created;
    });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return record;
  }

  /** dockerd's names.go: six draws, the later ones with a digit, then the short id. */
  private freeGeneratedName(id: string): string {
    for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
      const name = generateName(attempt);
      if (this.byNameStmt.get(name) === null) return name;
    }
    return shortId(id);
  }

  get(ref: string): ContainerRecord {
    const row = this.index.retryWhileBusy("look up container", () =>
      resolveReference<Row>(ref, {
        byId: (id) => this.byIdStmt.get(id) ?? undefined,
        byName: (name) => this.byNameStmt.get(name) ?? undefined,
        byIdPrefix: (prefix) => this.byPrefixStmt.all(`${prefix}*`),
      }),
    );
    return toRecord(row);
  }

  list(): ContainerRecord[] {
    return this.index.retryWhileBusy("list containers", () => this.listStmt.all()).map(toRecord);
  }

  update(id: string, change: (record: ContainerRecord) => ContainerRecord): ContainerRecord {
    return this.write("update container", () => {
      const row = this.byIdStmt.get(id);
      if (row === null) throw containerNotFound(id);
      const next = change(toRecord(row));
      if (next.id !== row.id || next.name !== row.name) {
        throw new ContainrError("INTERNAL", `update of container ${id} changed its id or name; use rename`);
      }
      this.updateStmt.run(storedFields(next), id);
      return next;
    });
  }

  rename(id: string, newName: string): ContainerRecord {
    const name = validateName(newName);
    return this.write("rename container", () => {
      const row = this.byIdStmt.get(id);
      if (row === null) throw containerNotFound(id);
      if (row.name === name) {
        throw new ContainrError("USAGE", "Renaming a container with the same name as its current name");
      }
      const owner = this.byNameStmt.get(name);
      if (owner !== null) {
        const conflict = nameInUse(name, owner.id);
        throw new ContainrError("NAME_IN_USE", `Error when allocating new name: ${conflict.message}`, { hint: conflict.hint });
      }
      this.renameStmt.run(name, id);
      return toRecord({ ...row, name });
    });
  }

  remove(id: string): void {
    const dir = this.containerDir(id);
    // Checked before the row goes, so a container still mounted keeps its record.
    assertNothingMounted(dir);
    this.write("remove container", () => {
      if (this.deleteStmt.run(id).changes === 0) throw containerNotFound(id);
    });
    rmSync(dir, { recursive: true, force: true });
    this.sweepOrphans();
  }

  sweepOrphans(): string[] {
    // Directories first, rows second: a directory is made only after its row
    // is committed, so one seen here whose row is missing afterwards belongs
    // to a removed container, never to one being created.
    const dirs = readdirSync(this.dir).filter(isFullId);
    if (dirs.length === 0) return [];
    const live = new Set(this.index.retryWhileBusy("list containers", () => this.idsStmt.all()).map((row) => row.id));
    const swept: string[] = [];
    for (const id of dirs) {
      if (live.has(id)) continue;
      const dir = join(this.dir, id);
      if (mountsBelow(dir).length > 0) continue; // never recurse into mounts; rm reports them
      rmSync(dir, { recursive: true, force: true });
      swept.push(id);
    }
    return swept;
  }

  close(): void {
    this.index.close();
  }
}

/** Open (creating if needed) the container records under a data root (--root). */
export function openRecords(dataRoot: string): RecordStore {
  const dir = join(resolve(dataRoot), "containers");
  try {
    return new SqliteRecordStore(dir);
  } catch (err) {
    const inner = toContainrError(err);
    throw new ContainrError(inner.code, `open container records in ${dir}: ${inner.message}`, {
      hint: inner.code === "PERMISSION_DENIED" ? "run as root, or pass --root DIR that you can write" : inner.hint,
      cause: inner,
    });
  }
}
