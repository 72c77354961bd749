/**
 * Image manifests, indexes and configs (OCI image spec and Docker schema 2):
 * media types, parsing with validation, the platform choice in an index, and
 * sha256 digests over exact bytes.
 */
import { ContainrError } from "../diag/errors.ts";
import { isSha256Digest } from "./reference.ts";

export const MediaType = {
  OciIndex: "application/vnd.oci.image.index.v1+json",
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  OciConfig: "application/vnd.oci.image.config.v1+json",
  OciLayer: "application/vnd.oci.image.layer.v1.tar",
  OciLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  OciLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  OciLayerNondistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  DockerConfig: "application/vnd.docker.container.image.v1+json",
  DockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  DockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  DockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  DockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

/** The Accept header of a manifest request: every kind we can use, best first. */
export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.DockerManifestList, MediaType.OciManifest, MediaType.DockerManifest].join(", ");

export type Compression = "gzip" | "zstd" | "none";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
}

/** The container defaults an image carries (OCI config "config", Docker's ContainerConfig shape). */
export interface ContainerDefaults {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: unknown;
  Shell?: string[];
  OnBuild?: string[] | null;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ContainerDefaults;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: HistoryEntry[];
}

export type ParsedManifest = { kind: "index"; index: ImageIndex } | { kind: "manifest"; manifest: ImageManifest };

/** sha256 digest ("sha256:<hex>") of bytes. */
export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

/** The hex part of a sha256 digest, checked: it becomes a file name. */
export function digestHex(digest: string): string {
  if (!isSha256Digest(digest)) throw new ContainrError("DIGEST_MISMATCH", `"${digest}" is not a sha256 digest`);
  return digest.slice("sha256:".length);
}

/** Refuse bytes whose sha256 is not `expected`; `what` names them in the error. */
export function verifyDigest(bytes: Uint8Array, expected: string, what: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== expected) {
    throw new ContainrError("DIGEST_MISMATCH", `${what}: content has digest ${actual}, expected ${expected}`, {
      hint: "pull again; if it persists the registry serves corrupt content",
    });
  }
}

function invalidManifest(what: string, why: string): ContainrError {
  return new ContainrError("INVALID_CONFIG", `${what}: ${why}`);
}

function checkDescriptor(d: unknown, what: string): Descriptor {
  const desc = d as Descriptor;
  if (typeof desc !== "object" || desc === null) throw invalidManifest(what, "descriptor is not an object");
  if (typeof desc.mediaType !== "string") throw invalidManifest(what, "descriptor has no mediaType");
  if (typeof desc.digest !== "string" || !isSha256Digest(desc.digest)) throw invalidManifest(what, `descriptor digest "${desc.digest}" is not sha256`);
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw invalidManifest(what, `descriptor ${desc.digest} has an invalid size`);
  return desc;
}

/**
 * Parse manifest bytes. The media type comes from the document, or from the
 * Content-Type when the document omits it (OCI allows that). Schema 1 is
 * refused: it has no content-addressed config and Docker dropped it.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, what: string): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw invalidManifest(what, "manifest is not valid JSON");
  }
  const type = (typeof doc.mediaType === "string" ? doc.mediaType : contentType?.split(";")[0]?.trim()) ?? "";
  if (doc.schemaVersion === 1 || type === MediaType.DockerSchema1 || type === MediaType.DockerSchema1Signed) {
    throw new ContainrError("INVALID_CONFIG", `${what}: Docker image manifest schema 1 is not supported`, {
      hint: "schema 1 images are deprecated; push the image again with a current tool (Docker 1.10+ or any OCI tool)",
    });
  }
  if (doc.schemaVersion !== 2) throw invalidManifest(what, `unsupported schemaVersion ${String(doc.schemaVersion)}`);
  if (type === MediaType.OciIndex || type === MediaType.DockerManifestList || (type === "" && Array.isArray(doc.manifests))) {
    if (!Array.isArray(doc.manifests)) throw invalidManifest(what, "index has no manifests");
    const manifests = doc.manifests.map((m, i) => checkDescriptor(m, `${what}: manifests[${i}]`));
    return { kind: "index", index: { schemaVersion: 2, mediaType: type || MediaType.OciIndex, manifests } };
  }
  if (type === MediaType.OciManifest || type === MediaType.DockerManifest || (type === "" && doc.config !== undefined)) {
    const config = checkDescriptor(doc.config, `${what}: config`);
    if (!Array.isArray(doc.layers)) throw invalidManifest(what, "manifest has no layers");
    const layers = doc.layers.map((l, i) => checkDescriptor(l, `${what}: layers[${i}]`));
    for (const layer of layers) layerCompression(layer.mediaType, what);
    return {
      kind: "manifest",
      manifest: { schemaVersion: 2, mediaType: type || MediaType.OciManifest, config, layers, annotations: doc.annotations as Record<string, string> | undefined },
    };
  }
  throw invalidManifest(what, `unsupported manifest media type "${type}"`);
}

/** How a layer blob is compressed, from its media type. */
export function layerCompression(mediaType: string, what = "layer"): Compression {
  switch (mediaType) {
    case MediaType.OciLayerGzip:
    case MediaType.DockerLayerGzip:
    case MediaType.OciLayerNondistributableGzip:
      return "gzip";
    case MediaType.OciLayerZstd:
      return "zstd";
    case MediaType.OciLayer:
    case MediaType.DockerLayer:
      return "none";
    default:
      throw new ContainrError("INVALID_CONFIG", `${what}: unsupported layer media type "${mediaType}"`);
  }
}

/** Parse and check an image config blob. */
export function parseImageConfig(bytes: Uint8Array, what: string): ImageConfig {
  let config: ImageConfig;
  try {
    config = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw invalidManifest(what, "image config is not valid JSON");
  }
  if (typeof config !== "object" || config === null || !config.rootfs || !Array.isArray(config.rootfs.diff_ids)) {
    throw invalidManifest(what, "image config has no rootfs.diff_ids");
  }
  for (const id of config.rootfs.diff_ids) {
    if (typeof id !== "string" || !isSha256Digest(id)) throw invalidManifest(what, `rootfs.diff_ids holds "${id}", not a sha256 digest`);
  }
  return config;
}

const GO_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

/** The platform this process runs on, in Go's (and the image spec's) names. */
export function hostPlatform(): Platform {
  const architecture = GO_ARCH[process.arch] ?? process.arch;
  return architecture === "arm64" ? { os: "linux", architecture, variant: "v8" } : { os: "linux", architecture };
}

/** Parse --platform os/arch[/variant]. */
export function parsePlatform(value: string): Platform {
  const parts = value.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new ContainrError("USAGE", `invalid platform "${value}": expected os/arch[/variant], for example linux/amd64 or linux/arm/v7`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** arm64 without a variant means v8, as containerd's platform matcher reads it. */
function normalisedVariant(p: Platform): string | undefined {
  if (p.architecture === "arm64" && (p.variant === undefined || p.variant === "")) return "v8";
  return p.variant || undefined;
}

function platformMatches(candidate: Platform, wanted: Platform): boolean {
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  const want = normalisedVariant(wanted);
  return want === undefined || normalisedVariant(candidate) === want;
}

/** Pick the manifest for a platform from an index, or explain what the index offers. */
export function choosePlatform(index: ImageIndex, wanted: Platform, what: string): Descriptor {
  const usable = index.manifests.filter((m) => m.mediaType !== MediaType.OciIndex && m.mediaType !== MediaType.DockerManifestList);
  const match = usable.find((m) => m.platform && platformMatches(m.platform, wanted));
  if (match) return match;
  const offered = usable.flatMap((m) => (m.platform && m.platform.os !== "unknown" ? [formatPlatform(m.platform)] : []));
  throw new ContainrError("IMAGE_NOT_FOUND", `${what}: no manifest for platform ${formatPlatform(wanted)} in the image index`, {
    hint: offered.length > 0 ? `the image offers ${offered.join(", ")}; choose one with --platform` : "the index lists no platforms",
  });
}
