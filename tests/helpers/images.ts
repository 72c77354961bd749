/**
 * Test images built without the internet: layers are directory trees (a
 * busybox-static rootfs, files, links, whiteouts) archived with GNU tar and
 * compressed with gzip or zstd (or not), plus a config and a manifest in
 * OCI or Docker schema 2 media types, and multi-platform indexes. They are
 * pushed to a test registry with plain HTTP requests, independent of the
 * code under test.
 */
import { spawnSync } from "bun";
import { chmodSync, chownSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { makeBusyboxRootfs } from "./busybox.ts";
import type { TestRegistry } from "./registry.ts";

export type Compression = "gzip" | "zstd" | "none";
export type Format = "oci" | "docker";

export interface FileSpec {
  content: string | Uint8Array;
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface LayerSpec {
  /** start from a busybox rootfs */
  busybox?: boolean;
  files?: Record<string, string | FileSpec>;
  dirs?: string[];
  symlinks?: Record<string, string>;
  /** link path → existing file in the same layer */
  hardlinks?: Record<string, string>;
  /** paths deleted by this layer (".wh.NAME" entries) */
  whiteouts?: string[];
  /** directories whose lower content this layer hides (".wh..wh..opq") */
  opaque?: string[];
  /** a file of this many random bytes at /random.bin (incompressible: for large layers) */
  randomBytes?: number;
}

export interface BuiltLayer {
  path: string;
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
}

export interface BuiltImage {
  manifest: Uint8Array;
  manifestDigest: string;
  manifestMediaType: string;
  config: Uint8Array;
  configDigest: string;
  layers: BuiltLayer[];
}

export interface ImageSpec {
  layers: LayerSpec[];
  compression?: Compression;
  format?: Format;
  architecture?: string;
  variant?: string;
  config?: Record<string, unknown>;
}

const MEDIA = {
  oci: {
    manifest: "application/vnd.oci.image.manifest.v1+json",
    config: "application/vnd.oci.image.config.v1+json",
    index: "application/vnd.oci.image.index.v1+json",
    layer: { gzip: "application/vnd.oci.image.layer.v1.tar+gzip", zstd: "application/vnd.oci.image.layer.v1.tar+zstd", none: "application/vnd.oci.image.layer.v1.tar" },
  },
  docker: {
    manifest: "application/vnd.docker.distribution.manifest.v2+json",
    config: "application/vnd.docker.container.image.v1+json",
    index: "application/vnd.docker.distribution.manifest.list.v2+json",
    layer: { gzip: "application/vnd.docker.image.rootfs.diff.tar.gzip", zstd: "application/vnd.oci.image.layer.v1.tar+zstd", none: "application/vnd.docker.image.rootfs.diff.tar" },
  },
} as const;

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

export function sha256File(path: string): string {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(readFileSync(path));
  return `sha256:${hasher.digest("hex")}`;
}

function run(cmd: string[], cwd?: string): void {
  const res = spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (res.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${res.stderr.toString()}`);
}

/** Materialise a layer spec as a directory tree. */
export function writeLayerTree(dir: string, spec: LayerSpec): void {
  mkdirSync(dir, { recursive: true });
  if (spec.busybox) makeBusyboxRootfs(dir);
  for (const d of spec.dirs ?? []) mkdirSync(join(dir, d), { recursive: true });
  for (const [path, value] of Object.entries(spec.files ?? {})) {
    const file: FileSpec = typeof value === "string" ? { content: value } : value;
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, file.content);
    if (file.mode !== undefined) chmodSync(full, file.mode);
    if (file.uid !== undefined || file.gid !== undefined) chownSync(full, file.uid ?? 0, file.gid ?? 0);
  }
  for (const [path, target] of Object.entries(spec.symlinks ?? {})) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    symlinkSync(target, join(dir, path));
  }
  for (const [path, target] of Object.entries(spec.hardlinks ?? {})) linkSync(join(dir, target), join(dir, path));
  for (const path of spec.whiteouts ?? []) {
    const parent = join(dir, dirname(path));
    mkdirSync(parent, { recursive: true });
    writeFileSync(join(parent, `.wh.${path.split("/").pop()}`), "");
  }
  for (const path of spec.opaque ?? []) {
    mkdirSync(join(dir, path), { recursive: true });
    writeFileSync(join(dir, path, ".wh..wh..opq"), "");
  }
  if (spec.randomBytes) {
    const out = Bun.file(join(dir, "random.bin")).writer();
    const chunk = 1 << 20;
    for (let done = 0; done < spec.randomBytes; done += chunk) out.write(crypto.getRandomValues(new Uint8Array(Math.min(chunk, spec.randomBytes - done))));
    out.end();
  }
}

/** Archive a tree with GNU tar (sorted, numeric owners) and compress it. */
export function archiveLayer(tree: string, out: string, compression: Compression): { path: string; diffId: string } {
  const entries = readdirSync(tree).sort();
  const tar = `${out}.tar`;
  run(["tar", "--numeric-owner", "--sort=name", "--format=gnu", "-C", tree, "-cf", tar, ...entries]);
  const diffId = sha256File(tar);
  if (compression === "gzip") {
    run(["gzip", "-n", "-f", tar]);
    return { path: `${tar}.gz`, diffId };
  }
  if (compression === "zstd") {
    run(["zstd", "-q", "-f", "--rm", tar, "-o", `${tar}.zst`]);
    return { path: `${tar}.zst`, diffId };
  }
  return { path: tar, diffId };
}

/** Build an image in workDir from layer specs. */
export function buildImage(workDir: string, spec: ImageSpec): BuiltImage {
  const compression = spec.compression ?? "gzip";
  mkdirSync(workDir, { recursive: true });
  const archives = spec.layers.map((layerSpec, i) => {
    const tree = join(workDir, `layer${i}`);
    writeLayerTree(tree, layerSpec);
    return archiveLayer(tree, join(workDir, `layer${i}`), compression);
  });
  return imageFromArchives(archives, spec);
}

/** An image (config and manifest) over layer archives made by archiveLayer, e.g. a cached one too large to rebuild each time. */
export function imageFromArchives(archives: { path: string; diffId: string }[], spec: Omit<ImageSpec, "layers">): BuiltImage {
  const compression = spec.compression ?? "gzip";
  const format = spec.format ?? "oci";
  const layers: BuiltLayer[] = archives.map(({ path, diffId }) => ({
    path,
    diffId,
    digest: sha256File(path),
    size: statSync(path).size,
    mediaType: MEDIA[format].layer[compression],
  }));
  const config = new TextEncoder().encode(
    JSON.stringify({
      architecture: spec.architecture ?? "amd64",
      ...(spec.variant ? { variant: spec.variant } : {}),
      os: "linux",
      created: "2024-05-01T12:00:00Z",
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"], ...spec.config },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created: "2024-05-01T12:00:00Z", created_by: `test layer ${i}` })),
    }),
  );
  const configDigest = sha256(config);
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA[format].manifest,
      config: { mediaType: MEDIA[format].config, digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  return { manifest, manifestDigest: sha256(manifest), manifestMediaType: MEDIA[format].manifest, config, configDigest, layers };
}

export interface BuiltIndex {
  bytes: Uint8Array;
  digest: string;
  mediaType: string;
}

export function buildIndex(entries: { image: BuiltImage; platform: { os: string; architecture: string; variant?: string } }[], format: Format = "oci"): BuiltIndex {
  const bytes = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA[format].index,
      manifests: entries.map(({ image, platform }) => ({ mediaType: image.manifestMediaType, digest: image.manifestDigest, size: image.manifest.length, platform })),
    }),
  );
  return { bytes, digest: sha256(bytes), mediaType: MEDIA[format].index };
}

async function check(res: Response, what: string, expected: number): Promise<void> {
  if (res.status !== expected) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  await res.body?.cancel();
}

/** Monolithic blob upload: POST, then PUT ?digest= with the content. */
export async function pushBlob(registry: TestRegistry, repo: string, digest: string, content: Uint8Array | Blob): Promise<void> {
  const auth = await registry.authFor(repo);
  const headers: Record<string, string> = auth ? { Authorization: auth } : {};
  const start = await fetch(`${registry.url}/v2/${repo}/blobs/uploads/`, { method: "POST", headers });
  await check(start, `start upload of ${digest}`, 202);
  const location = new URL(start.headers.get("location")!, registry.url);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, { method: "PUT", headers: { ...headers, "Content-Type": "application/octet-stream" }, body: content });
  await check(put, `upload ${digest}`, 201);
}

export async function pushManifest(registry: TestRegistry, repo: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<void> {
  const auth = await registry.authFor(repo);
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    headers: { "Content-Type": mediaType, ...(auth ? { Authorization: auth } : {}) },
    body: bytes,
  });
  await check(res, `manifest ${repo}:${reference}`, 201);
}

/** Push an image's blobs and manifest; tag it when `tag` is given (else only by digest). */
export async function pushImage(registry: TestRegistry, repo: string, tag: string | undefined, image: BuiltImage): Promise<void> {
  await pushBlob(registry, repo, image.configDigest, image.config);
  for (const layer of image.layers) await pushBlob(registry, repo, layer.digest, Bun.file(layer.path));
  await pushManifest(registry, repo, tag ?? image.manifestDigest, image.manifest, image.manifestMediaType);
}

export async function pushIndex(registry: TestRegistry, repo: string, tag: string, index: BuiltIndex, images: BuiltImage[]): Promise<void> {
  for (const image of images) await pushImage(registry, repo, undefined, image);
  await pushManifest(registry, repo, tag, index.bytes, index.mediaType);
}

/** The layers of a typical multi-layer test image: a busybox base, then changes with whiteouts and an opaque dir. */
export function standardLayers(): LayerSpec[] {
  return [
    { busybox: true, files: { "etc/os-release": "NAME=containr-test\n", "opt/old/a.txt": "old a\n", "opt/old/b.txt": "old b\n", "data/gone.txt": "to be deleted\n" } },
    {
      files: {
        "app/hello.txt": "hello from layer 1\n",
        "app/run.sh": { content: "#!/bin/sh\necho run\n", mode: 0o755 },
        "app/suid": { content: "suid\n", mode: 0o4755 },
        "home/user/owned.txt": { content: "user file\n", uid: 1000, gid: 1000 },
        "opt/old/new.txt": "new in opaque dir\n",
      },
      symlinks: { "app/link": "hello.txt" },
      hardlinks: { "app/hard": "app/hello.txt" },
      whiteouts: ["data/gone.txt"],
      opaque: ["opt/old"],
    },
    { files: { "app/hello.txt": "hello from layer 2\n", [`deep/${"d".repeat(60)}/${"e".repeat(60)}/long-name.txt`]: "long path\n" } },
  ];
}
