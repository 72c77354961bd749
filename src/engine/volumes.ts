/**
 * Named and anonymous volumes, as Docker's "local" driver keeps them:
 *
 *   ROOT/volumes/metadata.db       every volume and who uses it (SQLite, sqlite-index.ts)
 *   ROOT/volumes/<name>/_data      the volume's content (the Mountpoint), mode 0755
 *
 * A volume's users are stored next to it (table users: volume, container),
 * and taking or dropping a user is one IMMEDIATE transaction with the check
 * that goes with it: `rm` of a volume in use and a `run -v` of the same
 * volume can never both win, whatever the interleaving of processes. A
 * user whose container record is gone (a crash between the two stores) is
 * dropped when someone asks whether the volume is in use.
 *
 * The directory follows the row, as for containers (ADR 0004): made after
 * the row is committed, deleted after the row is deleted.
 *
 * Driver options (-o type=tmpfs device=tmpfs o=size=64m; type=none
 * device=/srv o=bind) are mounted on _data the first time a container
 * starts with the volume, and unmounted when the volume is removed: the
 * content of a tmpfs volume lives until `volume rm` or a reboot (Docker
 * unmounts it when its last container stops; without a daemon nothing
 * watches for that moment).
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Statement } from "bun:sqlite";
import { ContainrError, toContainrError } from "../diag/errors.ts";
import { mount as mountFs, umount } from "../native/fs.ts";
import { MountKind, MS, parseMount } from "../runtime/mounts.ts";
import { withLock } from "../runtime/state.ts";
import { generateId } from "./ids.ts";
import { mountsBelow, openStoreIn, SqliteIndex } from "../image/sqlite-index.ts";
import { groupFilters } from "./filters.ts";

/** Docker's label on the volumes it creates for image VOLUMEs and `-v /path` (prune takes only these by default). */
export const ANONYMOUS_LABEL = "com.docker.volume.anonymous";

/** Docker's local driver: the options `volume create -o` takes. */
const DRIVER_OPTIONS = new Set(["type", "device", "o", "size"]);

export interface VolumeRecord {
  name: string;
  driver: "local";
  /** RFC 3339 */
  created: string;
  labels: Record<string, string>;
  /** the local driver's options (type, device, o) */
  options: Record<string, string>;
}

/** `volume inspect`'s shape (Docker's volume.Volume). */
export interface VolumeInspect {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: "local";
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Docker's local driver rule for a volume name, with its wording (moby volume/local validateName). */
export function validateVolumeName(name: string): string {
  if (!VOLUME_NAME.test(name)) {
    throw new ContainrError(
      "USAGE",
      `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
  return name;
}

/** The local driver's option checks (moby volume/local validateOpts), with Docker's wording. */
export function validateDriverOptions(name: string, options: Record<string, string>): void {
  const fail = (reason: string) => new ContainrError("USAGE", `create ${name}: ${reason}`, { hint: "the local driver takes type, device and o (as mount(8)'s -t, device and -o)" });
  for (const key of Object.keys(options)) {
    if (!DRIVER_OPTIONS.has(key)) throw fail(`invalid option: "${key}"`);
  }
  if (options.size !== undefined) throw fail("quota size requested but no quota support");
  const has = (key: string) => options[key] !== undefined;
  if (has("device") && !has("type")) throw fail('missing required option: "type"');
  if (has("type") && !has("device")) throw fail('missing required option: "device"');
  if (has("o") && !has("type")) throw fail('missing required option: "type"');
}

export function volumeNotFound(name: string): ContainrError {
  return new ContainrError("VOLUME_NOT_FOUND", `get ${name}: no such volume`, { hint: "list volumes with `containr volume ls`" });
}

interface Row {
  name: string;
  record: string;
}

const SCHEMA_VERSION = 1;
const SCHEMA = [
  "CREATE TABLE volumes (name TEXT PRIMARY KEY NOT NULL, record TEXT NOT NULL) STRICT",
  "CREATE TABLE users (volume TEXT NOT NULL REFERENCES volumes(name) ON DELETE CASCADE, container TEXT NOT NULL, PRIMARY KEY (volume, container)) STRICT",
  "CREATE INDEX users_by_container ON users (container)",
];

export interface NewVolume {
  /** absent: an anonymous volume (64 hex digits, labelled com.docker.volume.anonymous) */
  name?: string;
  labels?: Record<string, string>;
  options?: Record<string, string>;
}

export interface RemoveVolumeOptions {
  /** remove even while containers use it */
  force?: boolean;
  /** true when a container id still has a record; users without one are dropped */
  containerExists: (id: string) => boolean;
}

export class VolumeStore {
  private readonly index: SqliteIndex;
  private readonly byName: Statement<Row, [string]>;
  private readonly all: Statement<Row, []>;
  private readonly insert: Statement<unknown, [string, string]>;
  private readonly remove: Statement<unknown, [string]>;
  private readonly usersOf: Statement<{ container: string }, [string]>;
  private readonly addUser: Statement<unknown, [string, string]>;
  private readonly dropUser: Statement<unknown, [string, string]>;
  private readonly volumesOf: Statement<{ volume: string }, [string]>;
  private readonly dropContainer: Statement<unknown, [string]>;
  private readonly allUsers: Statement<{ volume: string; container: string }, []>;

  private constructor(readonly dir: string) {
    this.index = new SqliteIndex(dir, "metadata.db", "volume index", SCHEMA_VERSION, SCHEMA);
    const db = this.index.db;
    db.run("PRAGMA foreign_keys = ON");
    this.byName = db.query("SELECT name, record FROM volumes WHERE name = ?");
    this.all = db.query("SELECT name, record FROM volumes ORDER BY name");
    this.insert = db.query("INSERT INTO volumes (name, record) VALUES (?, ?)");
    this.remove = db.query("DELETE FROM volumes WHERE name = ?");
    this.usersOf = db.query("SELECT container FROM users WHERE volume = ? ORDER BY container");
    this.addUser = db.query("INSERT OR IGNORE INTO users (volume, container) VALUES (?, ?)");
    this.dropUser = db.query("DELETE FROM users WHERE volume = ? AND container = ?");
    this.volumesOf = db.query("SELECT volume FROM users WHERE container = ? ORDER BY volume");
    this.dropContainer = db.query("DELETE FROM users WHERE container = ?");
    this.allUsers = db.query("SELECT volume, container FROM users");
  }

  /** Open (creating) the volume store of a data root. */
  static open(dataRoot: string): VolumeStore {
    return openStoreIn(dataRoot, "volumes", "volume index", (dir) => new VolumeStore(dir));
  }

  close(): void {
    this.index.close();
  }

  /** ROOT/volumes/NAME/_data */
  mountpoint(name: string): string {
    return join(this.dir, name, "_data");
  }

  private insertNew(input: NewVolume): VolumeRecord {
    const anonymous = input.name === undefined;
    const name = anonymous ? generateId() : validateVolumeName(input.name as string);
    const options = input.options ?? {};
    validateDriverOptions(name, options);
    const record: VolumeRecord = {
      name,
      driver: "local",
      created: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      labels: anonymous ? { [ANONYMOUS_LABEL]: "", ...input.labels } : { ...input.labels },
      options,
    };
    const { name: _name, ...stored } = record;
    this.insert.run(name, JSON.stringify(stored));
    return record;
  }

  private makeDirectory(name: string): void {
    mkdirSync(this.mountpoint(name), { recursive: true, mode: 0o755 });
  }

  /**
   * `volume create`: a new volume, or the existing one of that name (as
   * Docker, which makes create idempotent).
   */
  create(input: NewVolume): VolumeRecord {
    const record = this.index.write("create volume", () => {
      if (input.name !== undefined) {
        const row = this.byName.get(validateVolumeName(input.name));
        if (row !== null) return toRecord(row);
      }
      return this.insertNew(input);
    });
    this.makeDirectory(record.name);
    return record;
  }

  get(name: string): VolumeRecord {
    const row = this.index.retryWhileBusy("look up volume", () => this.byName.get(name));
    if (row === null) throw volumeNotFound(name);
    return toRecord(row);
  }

  list(): VolumeRecord[] {
    return this.index.retryWhileBusy("list volumes", () => this.all.all()).map(toRecord);
  }

  /** The containers using each volume (volume name → container ids). */
  users(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const { volume, container } of this.index.retryWhileBusy("list volume users", () => this.allUsers.all())) {
      out.set(volume, [...(out.get(volume) ?? []), container]);
    }
    return out;
  }

  /**
   * A container takes a volume: created when missing (a named one from
   * `-v name:/path`, an anonymous one when name is undefined), then the
   * container is recorded as its user, in one transaction.
   */
  acquire(containerId: string, input: NewVolume): { volume: VolumeRecord; created: boolean } {
    const result = this.index.write("take volume", () => {
      let created = false;
      let volume: VolumeRecord;
      const row = input.name === undefined ? null : this.byName.get(validateVolumeName(input.name));
      if (row !== null) {
        volume = toRecord(row);
      } else {
        volume = this.insertNew(input);
        created = true;
      }
      this.addUser.run(volume.name, containerId);
      return { volume, created };
    });
    this.makeDirectory(result.volume.name);
    return result;
  }

  /** The container no longer uses its volumes (it is being removed); returns their names. */
  release(containerId: string): string[] {
    return this.index.write("release volumes", () => {
      const names = this.volumesOf.all(containerId).map((r) => r.volume);
      this.dropContainer.run(containerId);
      return names;
    });
  }

  /**
   * `volume rm`: refused while a container uses the volume (Docker's "volume
   * is in use - [ids]") unless forced. The row goes first, then whatever the
   * driver mounted, then the directory.
   */
  removeVolume(name: string, options: RemoveVolumeOptions): void {
    this.index.write("remove volume", () => {
      if (this.byName.get(name) === null) throw volumeNotFound(name);
      const users = this.usersOf.all(name).map((r) => r.container);
      const live = users.filter((id) => options.containerExists(id));
      for (const id of users) if (!live.includes(id)) this.dropUser.run(name, id);
      if (live.length > 0 && !options.force) {
        throw new ContainrError("VOLUME_IN_USE", `remove ${name}: volume is in use - [${live.join(", ")}]`, {
          hint: "remove the containers that use it first (`containr ps -a --filter volume=NAME`), or force with -f",
        });
      }
      this.remove.run(name);
    });
    this.deleteDirectory(name);
  }

  private deleteDirectory(name: string): void {
    const dir = join(this.dir, name);
    const data = this.mountpoint(name);
    for (const mounted of mountsBelow(dir).sort((a, b) => b.length - a.length)) {
      try {
        umount(mounted, false);
      } catch {
        umount(mounted, true);
      }
    }
    if (mountsBelow(dir).length > 0) {
      throw new ContainrError("INVALID_STATE", `remove volume ${name}: ${data} is still mounted`, { hint: `unmount ${data} and remove the directory` });
    }
    rmSync(dir, { recursive: true, force: true });
  }

  /**
   * Mount the driver's options on _data, once: the first container to
   * start with the volume does it, under the volume directory's lock so two
   * starting at once do not stack two mounts.
   */
  ensureMounted(volume: VolumeRecord): void {
    const { type, device, o } = volume.options;
    if (type === undefined || device === undefined) return;
    const data = this.mountpoint(volume.name);
    this.makeDirectory(volume.name);
    withLock(join(this.dir, volume.name), () => {
      if (mountsBelow(data).includes(data)) return;
      const planned = parseMount({ destination: "/", type: type === "none" ? "bind" : type, source: device, options: o ? o.split(",") : [] }, 0);
      if (planned.kind === MountKind.Bind) {
        const recursive = planned.flags & MS.REC;
        mountFs(planned.source, data, "", MS.BIND | recursive, null);
        const remountFlags = planned.flags & ~(MS.BIND | MS.REC);
        if (remountFlags !== 0) mountFs("", data, "", MS.BIND | MS.REMOUNT | remountFlags, null);
      } else {
        mountFs(planned.source, data, planned.fstype, planned.flags, planned.data || null);
      }
      for (const propagation of planned.propagation) mountFs("", data, "", propagation, null);
    });
  }

  /** Is the volume's directory empty (copy-up fills only an empty volume, as Docker)? */
  isEmpty(name: string): boolean {
    try {
      return readdirSync(this.mountpoint(name)).length === 0;
    } catch {
      return true;
    }
  }

  /** Bytes used by the volume's content (system df, volume ls --format {{.Size}}). */
  size(name: string): number {
    return directorySize(this.mountpoint(name));
  }

  inspect(volume: VolumeRecord): VolumeInspect {
    const labels = Object.keys(volume.labels).length > 0 ? volume.labels : null;
    const options = Object.keys(volume.options).length > 0 ? volume.options : null;
    return {
      CreatedAt: volume.created,
      Driver: volume.driver,
      Labels: labels,
      Mountpoint: this.mountpoint(volume.name),
      Name: volume.name,
      Options: options,
      Scope: "local",
    };
  }
}

function toRecord(row: Row): VolumeRecord {
  return { name: row.name, ...(JSON.parse(row.record) as Omit<VolumeRecord, "name">) };
}

export function isAnonymous(volume: VolumeRecord): boolean {
  return Object.hasOwn(volume.labels, ANONYMOUS_LABEL);
}

/** Bytes of the regular files below dir, each inode counted once, symlinks not followed. */
export function directorySize(dir: string): number {
  const seen = new Set<bigint>();
  let total = 0;
  const walk = (path: string) => {
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const name of names) {
      const child = join(path, name);
      const st = lstatSync(child, { bigint: true, throwIfNoEntry: false });
      if (st === undefined) continue;
      if (st.isDirectory()) {
        walk(child);
      } else if (st.isFile() && !seen.has(st.ino)) {
        seen.add(st.ino);
        total += Number(st.size);
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return total;
}

/** Open the data root's volume store for the length of fn. */
export function withVolumes<T>(dataRoot: string, fn: (volumes: VolumeStore) => T): T {
  const volumes = VolumeStore.open(dataRoot);
  try {
    return fn(volumes);
  } finally {
    volumes.close();
  }
}

/** Which containers' records mount each volume (volume name → container names), from the records' Mounts. */
export function volumeLinks(records: readonly { name: string; mounts: object[] }[]): Map<string, string[]> {
  const links = new Map<string, string[]>();
  for (const record of records) {
    for (const point of record.mounts as { Type?: string; Name?: string }[]) {
      if (point.Type !== "volume" || point.Name === undefined) continue;
      links.set(point.Name, [...(links.get(point.Name) ?? []), record.name]);
    }
  }
  return links;
}

export interface VolumeFilter {
  (volume: VolumeRecord, inUse: boolean): boolean;
}

/** `volume ls --filter` / `volume prune --filter`: dangling, name, label, driver (keys ANDed, values ORed, as dockerd). */
export function parseVolumeFilters(values: readonly string[]): VolumeFilter {
  const byKey = groupFilters(values, "dangling=true");
  const tests: VolumeFilter[] = [];
  for (const [key, wanted] of byKey) {
    switch (key) {
      case "dangling": {
        const flags = wanted.map((w) => {
          const v = w.toLowerCase();
          if (v === "true" || v === "1") return true;
          if (v === "false" || v === "0") return false;
          throw new ContainrError("USAGE", `invalid filter 'dangling=${w}'`, { hint: "dangling is true or false" });
        });
        tests.push((_, inUse) => flags.includes(!inUse));
        break;
      }
      case "name":
        tests.push((v) => wanted.some((w) => new RegExp(w).test(v.name)));
        break;
      case "driver":
        tests.push((v) => wanted.includes(v.driver));
        break;
      case "label":
        tests.push((v) =>
          wanted.every((w) => {
            const eq = w.indexOf("=");
            if (eq < 0) return Object.hasOwn(v.labels, w);
            return v.labels[w.slice(0, eq)] === w.slice(eq + 1);
          }),
        );
        break;
      default:
        throw new ContainrError("USAGE", `invalid filter '${key}'`, { hint: "supported: dangling, name, label, driver" });
    }
  }
  return (volume, inUse) => tests.every((t) => t(volume, inUse));
}

export interface PruneResult {
  deleted: string[];
  reclaimed: number;
}

/**
 * `volume prune`: the volumes no container uses, anonymous ones only unless
 * `all` (Docker 23's default), that pass the filter.
 */
export function pruneVolumes(volumes: VolumeStore, records: readonly { id: string; name: string; mounts: object[] }[], all: boolean, filter: VolumeFilter): PruneResult {
  const links = volumeLinks(records);
  const ids = new Set(records.map((r) => r.id));
  const result: PruneResult = { deleted: [], reclaimed: 0 };
  for (const volume of volumes.list()) {
    if (links.has(volume.name) || (!all && !isAnonymous(volume)) || !filter(volume, false)) continue;
    const size = volumes.size(volume.name);
    try {
      volumes.removeVolume(volume.name, { containerExists: (id) => ids.has(id) });
    } catch (err) {
      // taken by a container created since the list: not prunable any more
      if (toContainrError(err).code === "VOLUME_IN_USE" || toContainrError(err).code === "VOLUME_NOT_FOUND") continue;
      throw err;
    }
    result.deleted.push(volume.name);
    result.reclaimed += size;
  }
  return result;
}
