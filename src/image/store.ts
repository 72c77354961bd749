/**
 * The content store under the data root (docs/adr/0002-image-store.md):
 *
 *   ROOT/image/blobs/sha256/HEX     manifests, configs and compressed layers, by digest
 *   ROOT/image/layers/sha256/HEX    each layer unpacked once, by diffID, shared by images
 *   ROOT/image/tmp/                 downloads and unpacks in progress (per process)
 *   ROOT/image/index.db             the image index: SQLite in WAL mode
 *
 * Content enters only by rename after verification, so a blob or layer
 * directory that exists is complete and correct. The index is changed in
 * BEGIN IMMEDIATE transactions and points only at content already in place,
 * so a crash at any point leaves at worst unreferenced content (collected by
 * the next rmi) and temp files of a dead process (resumed or removed).
 */
import type { Database } from "bun:sqlite";
import { BUSY_TIMEOUT_MS, openDatabase, retryWhileBusy } from "./sqlite-index.ts";
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContainrError } from "../diag/errors.ts";
import { log } from "../diag/log.ts";
import { digestHex, parseImageConfig, sha256Digest, type ImageConfig, type Platform } from "./manifest.ts";
import { familiarName, formatReference, isSha256Digest, parseReference, repositoryName, type ImageReference } from "./reference.ts";

/** One layer of an image, bottom first. */
export interface LayerRecord {
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry): names the layer directory */
  diffId: string;
  /** digest of the blob as the registry serves it (compressed) */
  digest: string;
  mediaType: string;
  /** bytes of the blob */
  size: number;
}

export interface ImageRecord {
  /** Docker's image ID: the config's digest */
  id: string;
  manifestDigest: string;
  manifestMediaType: string;
  platform: Platform;
  layers: LayerRecord[];
  /** bytes of the unpacked layers */
  size: number;
  created: string | undefined;
  /** full names "docker.io/library/alpine:latest" */
  tags: string[];
  /** full names "docker.io/library/alpine@sha256:..." */
  repoDigests: string[];
}

/** What the engine needs to run an image: its config and the layer directories for the overlay. */
export interface ResolvedImage extends ImageRecord {
  config: ImageConfig;
  /** layer directories, bottom layer first (overlayfs wants lowerdir top first: reverse them) */
  layerDirs: string[];
}

interface ImageRow {
  id: string;
  manifest_digest: string;
  manifest_media_type: string;
  platform: string;
  layers: string;
  size: number;
  created: string | null;
}

/** A new image for the index, with the name it was pulled or loaded under. */
export interface NewImage {
  id: string;
  manifestDigest: string;
  manifestMediaType: string;
  platform: Platform;
  layers: LayerRecord[];
  created: string | undefined;
  /** full name:tag to point at the image */
  tag?: string;
  /** full name@digest the image can be pulled by */
  repoDigest?: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS images (
  id TEXT PRIMARY KEY,
  manifest_digest TEXT NOT NULL,
  manifest_media_type TEXT NOT NULL,
  platform TEXT NOT NULL,
  layers TEXT NOT NULL,
  size INTEGER NOT NULL,
  created TEXT,
  added_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tags (
  name TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id)
);
CREATE TABLE IF NOT EXISTS repo_digests (
  name TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id)
);
CREATE TABLE IF NOT EXISTS layers (
  diff_id TEXT PRIMARY KEY,
  size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS image_users (
  image_id TEXT NOT NULL,
  user TEXT NOT NULL,
  PRIMARY KEY (image_id, user)
);
`;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Temp names carry the owner's pid: "<what>.<pid>.<suffix>". */
function ownerPid(name: string): number | undefined {
  const m = /\.(\d+)\.[^.]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export class ImageStore {
  readonly root: string;
  readonly blobDir: string;
  readonly layerDir: string;
  readonly tmpDir: string;
  private readonly db: Database;
  private tmpCounter = 0;

  private constructor(root: string) {
    this.root = join(root, "image");
    this.blobDir = join(this.root, "blobs", "sha256");
    this.layerDir = join(this.root, "layers", "sha256");
    this.tmpDir = join(this.root, "tmp");
    for (const dir of [this.blobDir, this.layerDir, this.tmpDir]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.db = openDatabase(join(this.root, "index.db"), { create: true, strict: true });
    // busy_timeout first: concurrent openers switching to WAL or creating the schema queue instead of failing
    this.db.exec(`PRAGMA busy_timeout=${BUSY_TIMEOUT_MS}`);
    retryWhileBusy("open the image store", "image index", () => {
      this.db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
      this.db.exec(SCHEMA);
    });
  }

  /** Open (creating if needed) the store under a data root (--root). */
  static open(dataRoot: string): ImageStore {
    try {
      const store = new ImageStore(dataRoot);
      store.removeStaleTemps();
      return store;
    } catch (err) {
      if (err instanceof ContainrError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new ContainrError(code === "EACCES" || code === "EPERM" ? "PERMISSION_DENIED" : "INTERNAL", `open image store in ${dataRoot}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
        hint: code === "EACCES" ? "run as root, or pass --root DIR that you can write" : undefined,
      });
    }
  }

  close(): void {
    this.db.close();
  }

  // ---- temp files and directories ------------------------------------------

  /** A fresh temp path owned by this process. */
  tempPath(what: string): string {
    return join(this.tmpDir, `${what}.${process.pid}.${Date.now().toString(36)}${(this.tmpCounter++).toString(36)}`);
  }

  /**
   * Temp content of processes that died (a killed pull): unpack directories
   * go; partial blob downloads stay for the next pull to resume (see
   * claimPartial).
   */
  private removeStaleTemps(): void {
    for (const name of readdirSync(this.tmpDir)) {
      const pid = ownerPid(name);
      if (pid === undefined || pidAlive(pid) || name.endsWith(".partial")) continue;
      rmSync(join(this.tmpDir, name), { recursive: true, force: true });
    }
  }

  /**
   * A partial download of `digest` to continue: one a dead process left
   * (renamed to us, so two resuming pulls never share it) or a new empty
   * one. Returns the path and how many bytes it holds.
   */
  claimPartial(digest: string): { path: string; size: number } {
    const hex = digestHex(digest);
    const mine = join(this.tmpDir, `${hex}.${process.pid}.${(this.tmpCounter++).toString(36)}.partial`);
    for (const name of readdirSync(this.tmpDir)) {
      if (!name.startsWith(`${hex}.`) || !name.endsWith(".partial")) continue;
      const pid = Number(name.split(".")[1]);
      if (!Number.isInteger(pid) || pidAlive(pid)) continue;
      try {
        renameSync(join(this.tmpDir, name), mine);
        return { path: mine, size: statSync(mine).size };
      } catch {
        // Another process claimed it first: look on, or start afresh.
      }
    }
    closeSync(openSync(mine, "w", 0o600));
    return { path: mine, size: 0 };
  }

  // ---- blobs -----------------------------------------------------------------

  blobPath(digest: string): string {
    return join(this.blobDir, digestHex(digest));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  readBlob(digest: string): Uint8Array {
    try {
      return readFileSync(this.blobPath(digest));
    } catch (err) {
      throw new ContainrError("IMAGE_NOT_FOUND", `blob ${digest} is missing from the store`, { cause: err, hint: "pull the image again" });
    }
  }

  /** Write a small blob after checking its digest (tmp, fsync, rename). */
  writeBlob(bytes: Uint8Array, digest: string = sha256Digest(bytes)): string {
    if (sha256Digest(bytes) !== digest) {
      throw new ContainrError("DIGEST_MISMATCH", `blob content has digest ${sha256Digest(bytes)}, expected ${digest}`);
    }
    if (this.hasBlob(digest)) return digest;
    this.installBlob(digest, (tmp) => writeFileSync(tmp, bytes, { mode: 0o600 }));
    return digest;
  }

  /** Copy a file whose digest was verified into the blob store (tmp, fsync, rename). */
  writeBlobFromFile(file: string, digest: string): void {
    this.installBlob(digest, (tmp) => copyFileSync(file, tmp));
  }

  /**
   * fill writes the blob to a temp file, which is fsynced before the rename
   * puts it under its digest: a crash never leaves a partial blob there.
   */
  private installBlob(digest: string, fill: (tmp: string) => void): void {
    const tmp = this.tempPath(`blob-${digestHex(digest)}`);
    try {
      fill(tmp);
      const fd = openSync(tmp, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.blobPath(digest));
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** Move a verified temp file into the blob store. Identical content makes a rename race harmless. */
  commitBlobFile(tmp: string, digest: string): void {
    renameSync(tmp, this.blobPath(digest));
  }

  // ---- layers ----------------------------------------------------------------

  layerPath(diffId: string): string {
    return join(this.layerDir, digestHex(diffId));
  }

  hasLayer(diffId: string): boolean {
    return existsSync(this.layerPath(diffId));
  }

  /**
   * Move a verified, unpacked temp directory into place. The size row goes in
   * first so an existing directory always has one. When another process won
   * the race the directory is already there and ours is removed.
   */
  commitLayerDir(tmpDir: string, diffId: string, size: number): void {
    this.db.run("INSERT OR REPLACE INTO layers (diff_id, size) VALUES (?, ?)", [diffId, size]);
    try {
      renameSync(tmpDir, this.layerPath(diffId));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === "ENOTEMPTY" || code === "EEXIST") && this.hasLayer(diffId)) {
        rmSync(tmpDir, { recursive: true, force: true });
        return;
      }
      throw err;
    }
  }

  layerSize(diffId: string): number {
    const row = this.db.query<{ size: number }, [string]>("SELECT size FROM layers WHERE diff_id = ?").get(diffId);
    return row?.size ?? 0;
  }

  // ---- the index ---------------------------------------------------------------

  /**
   * Record an image and point its tag and repo digest at it, in one
   * transaction, after checking that all its content is in place.
   */
  addImage(image: NewImage): ImageRecord {
    const commit = this.db.transaction(() => {
      for (const layer of image.layers) {
        if (!this.hasLayer(layer.diffId)) {
          throw new ContainrError("IMAGE_NOT_FOUND", `layer ${layer.diffId} was removed while the image was being added`, { hint: "run the command again" });
        }
      }
      for (const digest of [image.id, image.manifestDigest]) {
        if (!this.hasBlob(digest)) throw new ContainrError("IMAGE_NOT_FOUND", `blob ${digest} was removed while the image was being added`, { hint: "run the command again" });
      }
      const size = image.layers.reduce((sum, l) => sum + this.layerSize(l.diffId), 0);
      this.db.run(
        `INSERT INTO images (id, manifest_digest, manifest_media_type, platform, layers, size, created, added_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest, manifest_media_type = excluded.manifest_media_type, layers = excluded.layers`,
        [image.id, image.manifestDigest, image.manifestMediaType, JSON.stringify(image.platform), JSON.stringify(image.layers), size, image.created ?? null, Date.now()],
      );
      if (image.tag) this.db.run("INSERT OR REPLACE INTO tags (name, image_id) VALUES (?, ?)", [image.tag, image.id]);
      if (image.repoDigest) this.db.run("INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?, ?)", [image.repoDigest, image.id]);
    });
    commit.immediate();
    return this.getImage(image.id)!;
  }

  private record(row: ImageRow): ImageRecord {
    const tags = this.db.query<{ name: string }, [string]>("SELECT name FROM tags WHERE image_id = ? ORDER BY name").all(row.id).map((r) => r.name);
    const repoDigests = this.db.query<{ name: string }, [string]>("SELECT name FROM repo_digests WHERE image_id = ? ORDER BY name").all(row.id).map((r) => r.name);
    return {
      id: row.id,
      manifestDigest: row.manifest_digest,
      manifestMediaType: row.manifest_media_type,
      platform: JSON.parse(row.platform),
      layers: JSON.parse(row.layers),
      size: row.size,
      created: row.created ?? undefined,
      tags,
      repoDigests,
    };
  }

  getImage(id: string): ImageRecord | undefined {
    const row = this.db.query<ImageRow, [string]>("SELECT * FROM images WHERE id = ?").get(id);
    return row ? this.record(row) : undefined;
  }

  /** Every image, newest first. */
  listImages(): ImageRecord[] {
    return this.db
      .query<ImageRow, []>("SELECT * FROM images ORDER BY created DESC, added_at DESC")
      .all()
      .map((row) => this.record(row));
  }

  /**
   * Find a local image as Docker's commands do: a full or short image ID
   * ("sha256:abc...", "abc123"), a name:tag, or a name@digest.
   */
  findImage(nameOrId: string): ImageRecord | undefined {
    const hex = nameOrId.startsWith("sha256:") ? nameOrId.slice(7) : nameOrId;
    if (/^[a-f0-9]{4,64}$/.test(hex)) {
      const rows = this.db.query<ImageRow, [string]>("SELECT * FROM images WHERE id LIKE ?").all(`sha256:${hex}%`);
      if (rows.length === 1) return this.record(rows[0]!);
      if (rows.length > 1) throw new ContainrError("USAGE", `image ID prefix "${nameOrId}" is ambiguous: ${rows.length} images match`, { hint: "give more digits" });
      if (nameOrId.startsWith("sha256:")) return undefined;
    }
    let ref: ImageReference;
    try {
      ref = parseReference(nameOrId);
    } catch (err) {
      if (/^[a-f0-9]{4,64}$/.test(hex)) return undefined;
      throw err;
    }
    if (ref.digest) {
      const row = this.db.query<{ image_id: string }, [string]>("SELECT image_id FROM repo_digests WHERE name = ?").get(`${repositoryName(ref)}@${ref.digest}`);
      return row ? this.getImage(row.image_id) : undefined;
    }
    const row = this.db.query<{ image_id: string }, [string]>("SELECT image_id FROM tags WHERE name = ?").get(formatReference(ref));
    return row ? this.getImage(row.image_id) : undefined;
  }

  /** findImage, or IMAGE_NOT_FOUND naming what was asked for. */
  requireImage(nameOrId: string): ImageRecord {
    const image = this.findImage(nameOrId);
    if (!image) throw new ContainrError("IMAGE_NOT_FOUND", `no such image: ${nameOrId}`, { hint: "list local images with 'containr images', or pull it first" });
    return image;
  }

  readConfig(image: ImageRecord): ImageConfig {
    return parseImageConfig(this.readBlob(image.id), `image ${image.id}`);
  }

  /** Point a full name:tag at an image (docker tag). */
  tagImage(imageId: string, fullTag: string): void {
    this.db.transaction(() => {
      if (!this.getImage(imageId)) throw new ContainrError("IMAGE_NOT_FOUND", `no such image: ${imageId}`);
      this.db.run("INSERT OR REPLACE INTO tags (name, image_id) VALUES (?, ?)", [fullTag, imageId]);
    }).immediate();
  }

  /** Record that the image can be pulled by name@digest (after a push). */
  addRepoDigest(imageId: string, nameAtDigest: string): void {
    this.db.run("INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?, ?)", [nameAtDigest, imageId]);
  }

  // ---- images in use (the engine's hook for rmi) --------------------------------

  /** The engine records that a container uses an image, so rmi refuses to remove it. */
  addImageUser(imageId: string, user: string): void {
    this.db.run("INSERT OR IGNORE INTO image_users (image_id, user) VALUES (?, ?)", [imageId, user]);
  }

  removeImageUser(imageId: string, user: string): void {
    this.db.run("DELETE FROM image_users WHERE image_id = ? AND user = ?", [imageId, user]);
  }

  imageUsers(imageId: string): string[] {
    return this.db.query<{ user: string }, [string]>("SELECT user FROM image_users WHERE image_id = ? ORDER BY user").all(imageId).map((r) => r.user);
  }

  // ---- removal -------------------------------------------------------------------

  /**
   * docker rmi for one argument. A name that is one of several tags of the
   * image only untags it; the last name (or an image ID) deletes the image,
   * unless a container uses it (then -f untags only, as Docker does).
   * Returns Docker's lines: "Untagged: NAME", "Deleted: ID".
   */
  removeImage(nameOrId: string, force: boolean): string[] {
    const lines: string[] = [];
    const byId = this.isIdReference(nameOrId);
    this.db.transaction(() => {
      const image = this.requireImage(nameOrId);
      const names = [...image.tags, ...image.repoDigests];
      let untag: string[];
      if (byId) {
        if (image.tags.length > 1 && !force) {
          throw new ContainrError("INVALID_STATE", `unable to delete ${shortId(image.id)} (must be forced): image is referenced in multiple repositories`, {
            hint: "remove it by name, or use -f",
          });
        }
        untag = names;
      } else {
        const ref = parseReference(nameOrId);
        const full = formatReference(ref);
        const repo = repositoryName(ref);
        const sameRepo = (name: string) => name.startsWith(`${repo}:`) || name.startsWith(`${repo}@`);
        // Removing the last tag of a repository also drops that repository's digests, as Docker does.
        const otherTagsInRepo = image.tags.some((t) => t !== full && sameRepo(t));
        untag = otherTagsInRepo || ref.digest ? [full] : [full, ...image.repoDigests.filter(sameRepo)];
      }
      const deletes = untag.length === names.length;
      const users = this.imageUsers(image.id);
      if (deletes && users.length > 0 && !force) {
        throw new ContainrError("INVALID_STATE", `unable to remove image ${nameOrId}: it is in use by container ${users.join(", ")}`, {
          hint: "remove the container first, or use -f to untag the image",
        });
      }
      for (const name of untag) {
        this.db.run("DELETE FROM tags WHERE name = ?", [name]);
        this.db.run("DELETE FROM repo_digests WHERE name = ?", [name]);
        lines.push(`Untagged: ${displayName(name)}`);
      }
      // An image a container still uses stays (untagged) until the container goes.
      if (deletes && users.length === 0) {
        this.db.run("DELETE FROM images WHERE id = ?", [image.id]);
        lines.push(`Deleted: ${image.id}`);
      }
    }).immediate();
    this.collectGarbage();
    return lines;
  }

  private isIdReference(nameOrId: string): boolean {
    const hex = nameOrId.startsWith("sha256:") ? nameOrId.slice(7) : nameOrId;
    if (!/^[a-f0-9]{4,64}$/.test(hex)) return false;
    return this.db.query<{ n: number }, [string]>("SELECT count(*) AS n FROM images WHERE id LIKE ?").get(`sha256:${hex}%`)!.n > 0;
  }

  /**
   * Remove layer directories and blobs that no image references. Directories
   * are renamed into tmp first, so a half-removed layer is never visible
   * under its name.
   */
  collectGarbage(): { layers: number; blobs: number } {
    const removed = { layers: 0, blobs: 0 };
    const doomedDirs: string[] = [];
    this.db.transaction(() => {
      const liveLayers = new Set<string>();
      const liveBlobs = new Set<string>();
      for (const row of this.db.query<ImageRow, []>("SELECT * FROM images").all()) {
        liveBlobs.add(row.id);
        liveBlobs.add(row.manifest_digest);
        for (const layer of JSON.parse(row.layers) as LayerRecord[]) {
          liveLayers.add(layer.diffId);
          liveBlobs.add(layer.digest);
        }
      }
      for (const hex of readdirSync(this.layerDir)) {
        const diffId = `sha256:${hex}`;
        if (liveLayers.has(diffId)) continue;
        const doomed = this.tempPath(`rm-${hex}`);
        renameSync(join(this.layerDir, hex), doomed);
        this.db.run("DELETE FROM layers WHERE diff_id = ?", [diffId]);
        doomedDirs.push(doomed);
        removed.layers++;
      }
      for (const hex of readdirSync(this.blobDir)) {
        if (liveBlobs.has(`sha256:${hex}`) || !isSha256Digest(`sha256:${hex}`)) continue;
        rmSync(join(this.blobDir, hex), { force: true });
        removed.blobs++;
      }
    }).immediate();
    for (const dir of doomedDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch (err) {
        log.warn(`could not remove ${dir}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return removed;
  }
}

/** The 12-digit ID Docker shows. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

/** A stored full name as Docker shows it: "alpine:latest", "127.0.0.1:5000/app@sha256:...". */
export function displayName(fullName: string): string {
  const ref = parseReference(fullName);
  return `${familiarName(ref)}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/**
 * The engine's entry point: the image a reference names, with its config
 * and its layer directories in order (bottom first).
 */
export function resolveImage(store: ImageStore, nameOrId: string): ResolvedImage {
  const image = store.requireImage(nameOrId);
  const layerDirs = image.layers.map((layer) => {
    const dir = store.layerPath(layer.diffId);
    if (!existsSync(dir)) {
      throw new ContainrError("IMAGE_NOT_FOUND", `image ${nameOrId}: layer ${layer.diffId} is missing from the store`, { hint: `pull the image again` });
    }
    return dir;
  });
  return { ...image, config: store.readConfig(image), layerDirs };
}
