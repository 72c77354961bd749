/**
 * save and load: image archives in the layout Docker 25 writes, an OCI image
 * layout (oci-layout, index.json, blobs/sha256/...) that also carries
 * docker-archive's manifest.json, so Docker, Podman, skopeo and containr
 * read it. load reads either kind: the OCI index when present (it keeps the
 * manifests' exact bytes and digests), else manifest.json (older Docker
 * archives, with layers at any path, compressed or not).
 */
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ContainrError, wrap } from "../diag/errors.ts";
import { detectCompression } from "./import.ts";
import {
  choosePlatform,
  hostPlatform,
  layerCompression,
  MediaType,
  parseImageConfig,
  parseManifest,
  sha256Digest,
  verifyDigest,
  type Compression,
  type Descriptor,
  type ImageManifest,
  type Platform,
} from "./manifest.ts";
import { ingestLayer } from "./pull.ts";
import { formatReference, isSha256Digest, parseReference } from "./reference.ts";
import { displayName, type ImageRecord, type ImageStore, type LayerRecord } from "./store.ts";
import { readTar, TarWriter } from "./tar.ts";

const ANNOTATION_IMAGE_NAME = "io.containerd.image.name";
const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";

interface SavedImage {
  image: ImageRecord;
  /** the full name:tag asked for, when the image was named by tag */
  tag?: string;
}

/** Resolve the names first, so an unknown image fails before any byte is written. */
function resolveForSave(store: ImageStore, names: string[]): SavedImage[] {
  return names.map((name) => {
    const image = store.requireImage(name);
    const full = image.tags.find((t) => {
      try {
        return t === formatReference(parseReference(name));
      } catch {
        return false;
      }
    });
    return { image, tag: full };
  });
}

/** The archive of `docker save NAME...` as a tar stream. */
export function saveImages(store: ImageStore, names: string[]): ReadableStream<Uint8Array> {
  const saved = resolveForSave(store, names);
  const writer = new TarWriter();
  const mtime = Math.floor(Date.now() / 1000);
  const write = async () => {
    const written = new Set<string>();
    const addBlob = async (digest: string) => {
      if (written.has(digest)) return;
      written.add(digest);
      const path = store.blobPath(digest);
      const size = statSync(path).size;
      await writer.add(
        { name: `blobs/sha256/${digest.slice(7)}`, type: "file", mode: 0o644, size, mtime },
        Bun.file(path).stream() as unknown as AsyncIterable<Uint8Array>,
      );
    };
    await writer.add({ name: "blobs/", type: "dir", mode: 0o755, mtime });
    await writer.add({ name: "blobs/sha256/", type: "dir", mode: 0o755, mtime });
    const index: Descriptor[] = [];
    const dockerManifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
    for (const { image, tag } of saved) {
      for (const layer of image.layers) await addBlob(layer.digest);
      await addBlob(image.id);
      await addBlob(image.manifestDigest);
      const manifestSize = statSync(store.blobPath(image.manifestDigest)).size;
      const annotations = tag ? { [ANNOTATION_IMAGE_NAME]: tag, [ANNOTATION_REF_NAME]: parseReference(tag).tag! } : undefined;
      index.push({ mediaType: image.manifestMediaType, digest: image.manifestDigest, size: manifestSize, ...(annotations ? { annotations } : {}) });
      dockerManifest.push({
        Config: `blobs/sha256/${image.id.slice(7)}`,
        RepoTags: tag ? [displayName(tag)] : null,
        Layers: image.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
      });
    }
    const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    for (const [name, body] of [
      ["oci-layout", json({ imageLayoutVersion: "1.0.0" })],
      ["index.json", json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: index })],
      ["manifest.json", json(dockerManifest)],
    ] as const) {
      await writer.add({ name, type: "file", mode: 0o644, size: body.length, mtime }, body);
    }
    await writer.close();
  };
  write().catch((err) => writer.abort(err));
  return writer.stream;
}

/** What an archive held, by entry name (without "./"), spilled to temp files. */
class ArchiveFiles {
  private readonly files = new Map<string, string>();
  private counter = 0;

  constructor(readonly dir: string) {}

  static async read(store: ImageStore, stream: ReadableStream<Uint8Array>): Promise<ArchiveFiles> {
    const files = new ArchiveFiles(store.tempPath("load"));
    mkdirSync(files.dir, { mode: 0o700 });
    try {
      for await (const entry of readTar(stream)) {
        if (entry.type !== "file") continue;
        const name = entry.name.replace(/^(\.\/)+/, "");
        // Entries are stored under numbered temp names, never under their own: no path from the archive reaches the disk.
        const path = join(files.dir, String(files.counter++));
        const fd = openSync(path, "w", 0o600);
        try {
          for await (const chunk of entry.body()) writeSync(fd, chunk);
        } finally {
          closeSync(fd);
        }
        files.files.set(name, path);
      }
    } catch (err) {
      files.remove();
      throw wrap(err, "read image archive");
    }
    return files;
  }

  has(name: string): boolean {
    return this.files.has(name);
  }

  path(name: string): string {
    const path = this.files.get(name.replace(/^(\.\/)+/, ""));
    if (!path) throw new ContainrError("INVALID_CONFIG", `image archive: "${name}" is missing from the archive`);
    return path;
  }

  bytes(name: string, maxBytes = 16 * 1024 * 1024): Uint8Array {
    const path = this.path(name);
    if (statSync(path).size > maxBytes) throw new ContainrError("INVALID_CONFIG", `image archive: "${name}" is larger than ${maxBytes} bytes`);
    return readFileSync(path);
  }

  json<T>(name: string): T {
    try {
      return JSON.parse(new TextDecoder().decode(this.bytes(name))) as T;
    } catch (err) {
      if (err instanceof ContainrError) throw err;
      throw new ContainrError("INVALID_CONFIG", `image archive: "${name}" is not valid JSON`);
    }
  }

  blobName(digest: string): string {
    if (!isSha256Digest(digest)) throw new ContainrError("INVALID_CONFIG", `image archive: "${digest}" is not a sha256 digest`);
    return `blobs/sha256/${digest.slice(7)}`;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface LoadOptions {
  rootless?: boolean;
  platform?: Platform;
}

/** A layer from an archive file into the store: verified, unpacked once, the blob kept. */
async function storeLayer(store: ImageStore, file: string, compression: Compression, expect: { digest?: string; size?: number; diffId: string }, options: LoadOptions): Promise<{ digest: string; size: number }> {
  if (expect.digest && store.hasBlob(expect.digest) && store.hasLayer(expect.diffId)) return { digest: expect.digest, size: expect.size ?? statSync(store.blobPath(expect.digest)).size };
  const layer = await ingestLayer(store, Bun.file(file).stream() as unknown as AsyncIterable<Uint8Array>, {
    compression,
    digest: expect.digest,
    size: expect.size,
    diffId: expect.diffId,
    unpack: !store.hasLayer(expect.diffId),
    rootless: options.rootless,
    // The same file may hold a layer two images share: copy, do not move.
    commitBlob: (digest) => {
      if (!store.hasBlob(digest)) store.writeBlobFromFile(file, digest);
    },
  });
  return { digest: layer.digest, size: layer.size };
}

async function loadOciImage(store: ImageStore, files: ArchiveFiles, desc: Descriptor, options: LoadOptions): Promise<ImageRecord> {
  const what = `image archive: manifest ${desc.digest}`;
  const bytes = files.bytes(files.blobName(desc.digest));
  verifyDigest(bytes, desc.digest, what);
  const parsed = parseManifest(bytes, desc.mediaType, what);
  if (parsed.kind === "index") {
    const chosen = choosePlatform(parsed.index, options.platform ?? hostPlatform(), what);
    return loadOciImage(store, files, { ...chosen, annotations: desc.annotations }, options);
  }
  const manifest: ImageManifest = parsed.manifest;
  const configBytes = files.bytes(files.blobName(manifest.config.digest));
  verifyDigest(configBytes, manifest.config.digest, `${what}: config`);
  const config = parseImageConfig(configBytes, `${what}: config`);
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new ContainrError("INVALID_CONFIG", `${what}: ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`);
  }
  const layers: LayerRecord[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    const diffId = config.rootfs.diff_ids[i]!;
    await storeLayer(store, files.path(files.blobName(layer.digest)), layerCompression(layer.mediaType), { digest: layer.digest, size: layer.size, diffId }, options);
    layers.push({ diffId, digest: layer.digest, mediaType: layer.mediaType, size: layer.size });
  }
  store.writeBlob(configBytes, manifest.config.digest);
  store.writeBlob(bytes, desc.digest);
  return store.addImage({
    id: manifest.config.digest,
    manifestDigest: desc.digest,
    manifestMediaType: manifest.mediaType,
    platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
    layers,
    created: config.created,
    tag: ociName(desc),
  });
}

/** The full name:tag an OCI index entry carries, if any (ref.name alone may be only a tag). */
function ociName(desc: Descriptor): string | undefined {
  const candidates = [desc.annotations?.[ANNOTATION_IMAGE_NAME], desc.annotations?.[ANNOTATION_REF_NAME]];
  for (const name of candidates) {
    if (!name || !/[/:]/.test(name)) continue;
    try {
      const ref = parseReference(name);
      if (!ref.digest) return formatReference(ref);
    } catch {
      // Not a reference: an OCI ref.name may be any string.
    }
  }
  return undefined;
}

const DOCKER_LAYER_MEDIA: Record<Compression, string> = { gzip: MediaType.DockerLayerGzip, none: MediaType.DockerLayer, zstd: MediaType.OciLayerZstd };

async function loadDockerImage(store: ImageStore, files: ArchiveFiles, entry: { Config: string; RepoTags?: string[] | null; Layers: string[] }, options: LoadOptions): Promise<ImageRecord[]> {
  const configBytes = files.bytes(entry.Config);
  const configDigest = sha256Digest(configBytes);
  const config = parseImageConfig(configBytes, `image archive: ${entry.Config}`);
  if (config.rootfs.diff_ids.length !== entry.Layers.length) {
    throw new ContainrError("INVALID_CONFIG", `image archive: ${entry.Config}: ${entry.Layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`);
  }
  const layers: LayerRecord[] = [];
  for (const [i, name] of entry.Layers.entries()) {
    const path = files.path(name);
    const fd = openSync(path, "r");
    const head = new Uint8Array(4);
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
    const compression = detectCompression(head);
    const diffId = config.rootfs.diff_ids[i]!;
    const { digest, size } = await storeLayer(store, path, compression, { diffId }, options);
    layers.push({ diffId, digest, mediaType: DOCKER_LAYER_MEDIA[compression], size });
  }
  store.writeBlob(configBytes, configDigest);
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: { mediaType: MediaType.DockerConfig, digest: configDigest, size: configBytes.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  const manifestDigest = store.writeBlob(manifest);
  const platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  const tags = entry.RepoTags?.length ? entry.RepoTags.map((t) => formatReference(parseReference(t))) : [undefined];
  return tags.map((tag) =>
    store.addImage({ id: configDigest, manifestDigest, manifestMediaType: MediaType.DockerManifest, platform, layers, created: config.created, tag }),
  );
}

/** Load every image of an archive; returns Docker's lines ("Loaded image: NAME", "Loaded image ID: ID"). */
export async function loadImages(store: ImageStore, stream: ReadableStream<Uint8Array>, options: LoadOptions = {}): Promise<string[]> {
  const files = await ArchiveFiles.read(store, stream);
  try {
    const loaded: ImageRecord[] = [];
    if (files.has("index.json") && files.has("oci-layout")) {
      const index = files.json<{ manifests?: Descriptor[] }>("index.json");
      if (!Array.isArray(index.manifests)) throw new ContainrError("INVALID_CONFIG", "image archive: index.json has no manifests");
      for (const desc of index.manifests) loaded.push(await loadOciImage(store, files, desc, options));
    } else if (files.has("manifest.json")) {
      const entries = files.json<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>("manifest.json");
      if (!Array.isArray(entries)) throw new ContainrError("INVALID_CONFIG", "image archive: manifest.json is not a list");
      for (const entry of entries) loaded.push(...(await loadDockerImage(store, files, entry, options)));
    } else {
      throw new ContainrError("INVALID_CONFIG", "image archive: neither an OCI layout (oci-layout, index.json) nor a docker archive (manifest.json)", {
        hint: "create the archive with 'containr save' or 'docker save'",
      });
    }
    const lines: string[] = [];
    for (const image of loaded) {
      const named = image.tags.map(displayName);
      if (named.length === 0) lines.push(`Loaded image ID: ${image.id}`);
      for (const name of named) if (!lines.includes(`Loaded image: ${name}`)) lines.push(`Loaded image: ${name}`);
    }
    return lines;
  } finally {
    files.remove();
  }
}
