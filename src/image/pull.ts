/**
 * Pull an image into the content store. Each layer is fetched and unpacked
 * in one pass, in parallel with the others:
 *
 *   registry stream ─┬─ sha256 (blob digest) ─ gzip/zstd/none ─┬─ sha256 (diffID)
 *                    └─ temp file (kept for push/save/resume)  └─ unpackLayer → temp dir
 *
 * Both digests are checked before anything is renamed into the store, so a
 * corrupt blob leaves nothing behind. A pull that dies leaves a partial file
 * the next pull resumes with a Range request (its bytes are re-read from disk
 * into the same pipeline). Memory stays bounded: every stage is a stream
 * with backpressure.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { ContainrError, withContextSync, wrap } from "../diag/errors.ts";
import { failpoint } from "../diag/failpoints.ts";
import { log, stepTimer } from "../diag/log.ts";
import {
  choosePlatform,
  hostPlatform,
  layerCompression,
  parseImageConfig,
  parseManifest,
  verifyDigest,
  type Compression,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type Platform,
} from "./manifest.ts";
import { formatReference, parseReference, repositoryName, type ImageReference } from "./reference.ts";
import { RegistryClient, type RegistryOptions } from "./registry.ts";
import type { ImageRecord, ImageStore, LayerRecord } from "./store.ts";
import { unpackLayer, type UnpackResult } from "./unpack.ts";

export type LayerPhase = "waiting" | "exists" | "downloading" | "done";

export interface PullProgress {
  /** the manifest was found: the layers that will be fetched */
  resolved(reference: string, layers: Descriptor[]): void;
  layer(digest: string, phase: LayerPhase, current?: number, total?: number): void;
}

export interface PullOptions extends RegistryOptions {
  platform?: Platform;
  progress?: PullProgress;
  /** layers fetched at the same time */
  concurrency?: number;
  /** unpack for a rootless store (no device nodes, no chown outside the mapping) */
  rootless?: boolean;
}

export interface PullResult {
  image: ImageRecord;
  reference: string;
  /** the digest the image can be pulled by (the index's for a multi-platform image) */
  digest: string;
  /** false when every layer was already in the store */
  downloaded: boolean;
}

const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
const DEFAULT_CONCURRENCY = 3;

/** Errors after which a partial download is worth keeping for the next pull. */
function resumable(err: unknown): boolean {
  return err instanceof ContainrError && (err.code === "TIMEOUT" || err.code === "REGISTRY_UNREACHABLE");
}

/** Run tasks with at most `limit` at a time; the first failure is thrown after all settle. */
async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
}

/** An async iterable as a byte stream that pulls only on demand. */
function streamOf(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await it.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await it.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

/** Bun's DecompressionStream reads gzip and zstd; its type is narrower than what it accepts. */
export function decompressor(compression: "gzip" | "zstd"): TransformStream<Uint8Array, Uint8Array> {
  return new DecompressionStream(compression as "gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
}

/**
 * Free a chunk's memory now instead of at a later garbage collection: JSC
 * frees the contents of a detached ArrayBuffer at once. A pull moves its
 * layer through 512 KiB chunks (network, then decompressed); left to the
 * collector, which on a machine with much RAM runs only after tens of MB of
 * allocation, they added 20-35 MiB to the peak RSS (docs/benchmarks.md,
 * Pull). Only for chunks nothing else holds, nor views into a buffer still
 * in use.
 */
function release(chunk: Uint8Array): void {
  const buffer = chunk.buffer;
  if (!(buffer instanceof ArrayBuffer) || buffer.detached) return;
  try {
    buffer.transfer(0);
  } catch {
    // A buffer the runtime keeps pinned cannot be detached; the collector frees it as before.
  }
}

/**
 * The decompression of `chunks`, fed by hand rather than piped: a chunk's
 * write resolves once the decompressor has consumed it, and only then may
 * `done` release it. A failure of `chunks` errors the returned stream with
 * the same error; cancelling the stream stops the feeding (and returns the
 * iterator).
 */
function decompress(chunks: AsyncIterable<Uint8Array>, compression: "gzip" | "zstd", done?: (chunk: Uint8Array) => void): ReadableStream<Uint8Array> {
  const stream = decompressor(compression);
  const writer = stream.writable.getWriter();
  const feed = async () => {
    for await (const chunk of chunks) {
      await writer.write(chunk);
      done?.(chunk);
    }
    await writer.close();
  };
  feed().catch((err) => writer.abort(err).catch(() => {}));
  return stream.readable;
}

export interface IngestOptions {
  compression: Compression;
  /** expected blob digest, size and diffID; what is not given is computed and returned */
  digest?: string;
  size?: number;
  diffId?: string;
  /** unpack into the layer store (false: only verify, the layer is already there) */
  unpack: boolean;
  rootless?: boolean;
  /** compressed bytes seen so far */
  onBytes?: (bytes: number) => void;
  /** move the blob's temp file into the store, once every digest is checked */
  commitBlob?: (digest: string) => void;
  /**
   * Nothing else holds the source's chunks (they are not views into a buffer
   * still in use): each is released as soon as it is hashed and consumed,
   * rather than left to the garbage collector. Decompressed chunks are
   * released whatever this says.
   */
  ownsChunks?: boolean;
}

export interface IngestedLayer {
  digest: string;
  size: number;
  diffId: string;
}

/**
 * Verify and unpack one layer in a single pass over its (compressed) bytes:
 * sha256 of the blob, decompression, sha256 of the tar (the diffID) and
 * unpackLayer into a temp directory, renamed into the store only when every
 * digest matches. On failure the temp directory is removed.
 */
export async function ingestLayer(store: ImageStore, source: AsyncIterable<Uint8Array>, options: IngestOptions): Promise<IngestedLayer> {
  const blobHash = new Bun.CryptoHasher("sha256");
  const diffHash = new Bun.CryptoHasher("sha256");
  let blobBytes = 0;
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      blobBytes += chunk.length;
      if (options.size !== undefined && blobBytes > options.size) {
        throw new ContainrError("DIGEST_MISMATCH", `blob ${options.digest}: more than the ${options.size} bytes the manifest declares`);
      }
      blobHash.update(chunk);
      options.onBytes?.(blobBytes);
      yield chunk;
    }
  }
  const releaseSource = options.ownsChunks ? release : undefined;
  const tar = options.compression === "none" ? streamOf(hashed()) : decompress(hashed(), options.compression, releaseSource);
  const releaseTar = options.compression === "none" ? releaseSource : release;
  const reader = tar.getReader();
  // Every other stage throws ContainrErrors; anything else comes from the decompressor.
  const readTarBytes = async () => {
    try {
      return await reader.read();
    } catch (err) {
      if (err instanceof ContainrError) throw err;
      const why = `cannot ${options.compression === "none" ? "read" : `decompress (${options.compression})`}: ${err instanceof Error ? err.message : String(err)}`;
      throw new ContainrError("INVALID_ARCHIVE", `layer tarball is corrupt: ${why}`);
    }
  };
  // The consumer (unpackLayer, or the diffID hash) is done with a chunk once it asks for the next one.
  let previous: Uint8Array | undefined;
  const nextTarChunk = async () => {
    if (previous) releaseTar?.(previous);
    previous = undefined;
    const next = await readTarBytes();
    if (!next.done) previous = next.value;
    return next;
  };
  const tmpDir = options.unpack ? store.tempPath("layer") : undefined;
  try {
    let unpacked: UnpackResult | undefined;
    if (tmpDir) {
      mkdirSync(tmpDir, { mode: 0o755 });
      // readTar reads to the end of the stream, past the end-of-archive
      // blocks, so unpackLayer's digest is the diffID: no second hash here.
      const forUnpack = new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            const { done, value } = await nextTarChunk();
            if (done) return controller.close();
            controller.enqueue(value);
          },
        },
        { highWaterMark: 0 },
      );
      unpacked = await unpackLayer(forUnpack, tmpDir, { rootless: options.rootless });
    } else {
      for (;;) {
        const { done, value } = await nextTarChunk();
        if (done) break;
        diffHash.update(value);
      }
    }
    const digest = `sha256:${blobHash.digest("hex")}`;
    if ((options.digest !== undefined && digest !== options.digest) || (options.size !== undefined && blobBytes !== options.size)) {
      throw new ContainrError("DIGEST_MISMATCH", `blob ${options.digest}: content has digest ${digest} (${blobBytes} bytes), expected ${options.digest} (${options.size} bytes)`, {
        hint: "pull again; if it persists the registry serves corrupt content",
      });
    }
    const diffId = unpacked?.diffId ?? `sha256:${diffHash.digest("hex")}`;
    if (options.diffId !== undefined && diffId !== options.diffId) {
      throw new ContainrError("DIGEST_MISMATCH", `layer ${digest}: uncompressed content has digest ${diffId}, the image config says ${options.diffId}`, {
        hint: "the image is inconsistent; ask its publisher to push it again",
      });
    }
    failpoint("pull.verified");
    options.commitBlob?.(digest);
    failpoint("pull.blob-saved");
    if (tmpDir && unpacked) store.commitLayerDir(tmpDir, diffId, unpacked.size);
    return { digest, size: blobBytes, diffId };
  } catch (err) {
    await reader.cancel().catch(() => {});
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
    throw options.digest ? asCorruptBlob(err, options.digest) : err;
  }
}

/**
 * A blob whose content fails to decompress or to read as a tar stops the pull
 * before its digest can be checked; most often the download was damaged, so
 * it is reported as the blob's digest failure (pull again), whichever stage
 * noticed first. Other errors (unsafe paths, a full disk) keep their code.
 */
function asCorruptBlob(err: unknown, digest: string): unknown {
  if (err instanceof ContainrError && err.code !== "INVALID_ARCHIVE") return err;
  const why = err instanceof Error ? err.message : String(err);
  return new ContainrError("DIGEST_MISMATCH", `blob ${digest} is corrupt: ${why}`, {
    hint: "pull again; if it persists the registry serves corrupt content",
    cause: err,
  });
}

interface LayerJob {
  desc: Descriptor;
  diffId: string;
}

class Puller {
  private downloaded = false;

  constructor(
    private readonly store: ImageStore,
    private readonly client: RegistryClient,
    private readonly ref: ImageReference,
    private readonly options: PullOptions,
  ) {}

  private get repository(): string {
    return this.ref.path;
  }

  private get progress(): PullProgress | undefined {
    return this.options.progress;
  }

  /** The image manifest for our platform, and the digest the user can pull by. */
  async resolveManifest(): Promise<{ manifest: ImageManifest; manifestDigest: string; bytes: Uint8Array; repoDigest: string }> {
    const display = formatReference(this.ref);
    const top = await this.client.getManifest(this.repository, this.ref.digest ?? this.ref.tag!, display);
    const parsed = parseManifest(top.bytes, top.mediaType, display);
    if (parsed.kind === "manifest") return { manifest: parsed.manifest, manifestDigest: top.digest, bytes: top.bytes, repoDigest: top.digest };
    const chosen = choosePlatform(parsed.index, this.options.platform ?? hostPlatform(), display);
    const inner = await this.client.getManifest(this.repository, chosen.digest, `${repositoryName(this.ref)}@${chosen.digest}`);
    const innerParsed = parseManifest(inner.bytes, inner.mediaType, `${display} (${chosen.digest})`);
    if (innerParsed.kind !== "manifest") throw new ContainrError("INVALID_CONFIG", `${display}: an index inside an index is not supported`);
    return { manifest: innerParsed.manifest, manifestDigest: inner.digest, bytes: inner.bytes, repoDigest: top.digest };
  }

  async fetchConfig(desc: Descriptor): Promise<ImageConfig> {
    const what = `image config ${desc.digest}`;
    if (desc.size > MAX_CONFIG_BYTES) throw new ContainrError("INVALID_CONFIG", `${what} is larger than ${MAX_CONFIG_BYTES} bytes`);
    if (!this.store.hasBlob(desc.digest)) {
      const bytes = await this.client.getBlobBytes(this.repository, desc.digest, MAX_CONFIG_BYTES);
      verifyDigest(bytes, desc.digest, what);
      this.store.writeBlob(bytes, desc.digest);
    }
    return parseImageConfig(this.store.readBlob(desc.digest), what);
  }

  /** The compressed bytes of a layer: what a dead pull left on disk, then the rest from the registry, saved as it comes. */
  private async *download(desc: Descriptor, partial: { path: string; size: number }): AsyncGenerator<Uint8Array> {
    if (partial.size > 0) {
      log.debug(`${desc.digest}: resuming after ${partial.size} bytes already downloaded`);
      yield* Bun.file(partial.path).stream() as unknown as AsyncIterable<Uint8Array>;
    }
    // A dead pull may have received every byte; a Range request past the end would only get 416.
    if (partial.size >= desc.size) return;
    const fd = openSync(partial.path, "a");
    try {
      for await (const chunk of this.client.blobStream(this.repository, desc.digest, partial.size) as unknown as AsyncIterable<Uint8Array>) {
        withContextSync(`save blob ${desc.digest}`, () => writeSync(fd, chunk));
        yield chunk;
      }
      withContextSync(`save blob ${desc.digest}`, () => fsyncSync(fd));
    } finally {
      closeSync(fd);
    }
  }

  async fetchLayer({ desc, diffId }: LayerJob): Promise<void> {
    const store = this.store;
    const haveLayer = store.hasLayer(diffId);
    const haveBlob = store.hasBlob(desc.digest);
    if (haveLayer && haveBlob) {
      this.progress?.layer(desc.digest, "exists");
      return;
    }
    this.downloaded = true;
    const partial = haveBlob ? undefined : store.claimPartial(desc.digest);
    const source = partial ? this.download(desc, partial) : (Bun.file(store.blobPath(desc.digest)).stream() as unknown as AsyncIterable<Uint8Array>);
    try {
      await ingestLayer(store, source, {
        compression: layerCompression(desc.mediaType, `layer ${desc.digest}`),
        digest: desc.digest,
        size: desc.size,
        diffId,
        unpack: !haveLayer,
        rootless: this.options.rootless,
        onBytes: (n) => this.progress?.layer(desc.digest, "downloading", n, desc.size),
        commitBlob: partial ? (digest) => store.commitBlobFile(partial.path, digest) : undefined,
        // Fresh buffers from fetch or a file stream, used by nothing after the hash, the save and the decompressor.
        ownsChunks: true,
      });
    } catch (err) {
      if (partial && !resumable(err)) rmSync(partial.path, { force: true });
      throw wrap(err, `layer ${desc.digest}`);
    }
    this.progress?.layer(desc.digest, "done");
  }

  async pull(): Promise<PullResult> {
    const timer = stepTimer(`pull ${formatReference(this.ref)}`);
    const { manifest, manifestDigest, bytes, repoDigest } = await this.resolveManifest();
    failpoint("pull.manifest");
    timer.step("manifest");
    const config = await this.fetchConfig(manifest.config);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new ContainrError("INVALID_CONFIG", `${formatReference(this.ref)}: the manifest lists ${manifest.layers.length} layers, the config ${diffIds.length} diff_ids`);
    }
    this.progress?.resolved(formatReference(this.ref), manifest.layers);
    const jobs = manifest.layers.map((desc, i) => ({ desc, diffId: diffIds[i]! }));
    for (const job of jobs) this.progress?.layer(job.desc.digest, "waiting");
    await inParallel(jobs, this.options.concurrency ?? DEFAULT_CONCURRENCY, async (job) => {
      await this.fetchLayer(job);
    });
    timer.step("layers");
    failpoint("pull.layers-done");
    this.store.writeBlob(bytes, manifestDigest);
    const layers: LayerRecord[] = jobs.map(({ desc, diffId }) => ({ diffId, digest: desc.digest, mediaType: desc.mediaType, size: desc.size }));
    const name = repositoryName(this.ref);
    const image = this.store.addImage({
      id: manifest.config.digest,
      manifestDigest,
      manifestMediaType: manifest.mediaType,
      platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
      layers,
      created: config.created,
      tag: this.ref.digest ? undefined : `${name}:${this.ref.tag}`,
      repoDigest: `${name}@${repoDigest}`,
    });
    timer.done();
    return { image, reference: formatReference(this.ref), digest: repoDigest, downloaded: this.downloaded };
  }
}

/** Pull `reference` (Docker syntax) into the store. */
export async function pullImage(store: ImageStore, reference: string, options: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(reference);
  const client = new RegistryClient(ref.domain, options);
  return new Puller(store, client, ref, options).pull();
}
