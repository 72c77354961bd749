/**
 * `import`: a root filesystem tarball (plain, gzip or zstd, detected from its
 * first bytes) becomes a one-layer image, in one pass like a pulled layer.
 * Dockerfile instructions given with --change set the image's defaults.
 */
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from "node:fs";
import { ContainrError, withContextSync } from "../diag/errors.ts";
import { hostPlatform, MediaType, sha256Digest, type Compression, type ContainerDefaults, type ImageConfig } from "./manifest.ts";
import { ingestLayer } from "./pull.ts";
import { formatReference, parseReference } from "./reference.ts";
import type { ImageRecord, ImageStore } from "./store.ts";

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

export function detectCompression(head: Uint8Array): Compression {
  const starts = (magic: number[]) => magic.every((b, i) => head[i] === b);
  if (starts(GZIP_MAGIC)) return "gzip";
  if (starts(ZSTD_MAGIC)) return "zstd";
  return "none";
}

const LAYER_MEDIA_TYPE: Record<Compression, string> = { gzip: MediaType.OciLayerGzip, zstd: MediaType.OciLayerZstd, none: MediaType.OciLayer };

function usage(change: string, why: string): ContainrError {
  return new ContainrError("USAGE", `invalid --change "${change}": ${why}`, {
    hint: "use Dockerfile syntax: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, VOLUME, LABEL or STOPSIGNAL",
  });
}

/** JSON form ["a", "b"] when it parses as a list of strings, else shell form → /bin/sh -c. */
function commandForm(value: string): string[] {
  if (value.trimStart().startsWith("[")) {
    try {
      const list = JSON.parse(value);
      if (Array.isArray(list) && list.every((x) => typeof x === "string")) return list;
    } catch {
      // Not JSON: Docker then takes the text as shell form too.
    }
  }
  return ["/bin/sh", "-c", value];
}

/** "A=1 B="two words"" → [[A, 1], [B, two words]]. */
function keyValues(value: string, change: string): [string, string][] {
  const pairs: [string, string][] = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/y;
  let pos = 0;
  while (pos < value.length) {
    while (/\s/.test(value[pos] ?? "")) pos++;
    if (pos >= value.length) break;
    re.lastIndex = pos;
    const m = re.exec(value);
    if (!m) throw usage(change, `expected KEY=VALUE at "${value.slice(pos)}"`);
    let v = m[2]!;
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    else if (v.startsWith("'")) v = v.slice(1, -1);
    pairs.push([m[1]!, v]);
    pos = re.lastIndex;
  }
  return pairs;
}

/** Apply one Dockerfile instruction to the image defaults. */
export function applyChange(defaults: ContainerDefaults, change: string): void {
  const m = /^\s*([A-Za-z]+)\s+([\s\S]*\S)\s*$/.exec(change);
  if (!m) throw usage(change, "expected INSTRUCTION ARGUMENTS");
  const instruction = m[1]!.toUpperCase();
  const value = m[2]!;
  switch (instruction) {
    case "CMD":
      defaults.Cmd = commandForm(value);
      return;
    case "ENTRYPOINT":
      defaults.Entrypoint = commandForm(value);
      return;
    case "ENV": {
      const pairs = value.includes("=") ? keyValues(value, change) : [[value.split(/\s+/)[0]!, value.replace(/^\S+\s*/, "")] as [string, string]];
      const env = (defaults.Env ??= []);
      for (const [key, val] of pairs) {
        const at = env.findIndex((e) => e.split("=")[0] === key);
        if (at === -1) env.push(`${key}=${val}`);
        else env[at] = `${key}=${val}`;
      }
      return;
    }
    case "WORKDIR":
      defaults.WorkingDir = value.startsWith("/") ? value : `${(defaults.WorkingDir ?? "/").replace(/\/$/, "")}/${value}`;
      return;
    case "USER":
      defaults.User = value;
      return;
    case "EXPOSE":
      defaults.ExposedPorts ??= {};
      for (const port of value.split(/\s+/)) {
        if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(port)) throw usage(change, `"${port}" is not PORT[/PROTO]`);
        defaults.ExposedPorts[port.includes("/") ? port : `${port}/tcp`] = {};
      }
      return;
    case "VOLUME": {
      const list = value.startsWith("[") ? commandForm(value) : value.split(/\s+/);
      if (list[0] === "/bin/sh" && value.startsWith("[")) throw usage(change, "VOLUME takes a JSON list of paths");
      defaults.Volumes ??= {};
      for (const path of list) defaults.Volumes[path] = {};
      return;
    }
    case "LABEL":
      defaults.Labels ??= {};
      for (const [key, val] of keyValues(value, change)) defaults.Labels[key] = val;
      return;
    case "STOPSIGNAL":
      defaults.StopSignal = value;
      return;
    default:
      throw usage(change, `${instruction} cannot be changed on import`);
  }
}

export interface ImportOptions {
  /** NAME[:TAG] to give the image */
  reference?: string;
  changes?: string[];
  message?: string;
  rootless?: boolean;
}

/** Import a rootfs tarball stream as a one-layer image. */
export async function importRootfs(store: ImageStore, source: AsyncIterable<Uint8Array>, options: ImportOptions = {}): Promise<ImageRecord> {
  const ref = options.reference ? parseReference(options.reference) : undefined;
  if (ref?.digest) throw new ContainrError("USAGE", `an imported image cannot be named by digest: ${options.reference}`);
  const defaults: ContainerDefaults = {};
  for (const change of options.changes ?? []) applyChange(defaults, change);

  // Peek at the first bytes for the compression, then save every byte as the layer blob while it is unpacked.
  const it = source[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  if (first.done) throw new ContainrError("INVALID_CONFIG", "import: the tarball is empty");
  const compression = detectCompression(first.value);
  const tmp = store.tempPath("import");
  const fd = openSync(tmp, "w", 0o600);
  const save = (chunk: Uint8Array) => withContextSync("import: save the layer blob", () => writeSync(fd, chunk));
  async function* saved(): AsyncGenerator<Uint8Array> {
    save(first.value!);
    yield first.value!;
    for (let next = await it.next(); !next.done; next = await it.next()) {
      save(next.value);
      yield next.value;
    }
    withContextSync("import: save the layer blob", () => fsyncSync(fd));
  }
  let layer;
  try {
    layer = await ingestLayer(store, saved(), {
      compression,
      unpack: true,
      rootless: options.rootless,
      commitBlob: (digest) => store.commitBlobFile(tmp, digest),
    });
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    closeSync(fd);
  }

  const created = new Date().toISOString();
  const platform = hostPlatform();
  const config: ImageConfig = {
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    created,
    config: defaults,
    rootfs: { type: "layers", diff_ids: [layer.diffId] },
    history: [{ created, created_by: "containr import", ...(options.message ? { comment: options.message } : {}) }],
  };
  const configBytes = new TextEncoder().encode(JSON.stringify(config));
  const configDigest = store.writeBlob(configBytes);
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: configBytes.length },
      layers: [{ mediaType: LAYER_MEDIA_TYPE[compression], digest: layer.digest, size: layer.size }],
    }),
  );
  const manifestDigest = store.writeBlob(manifest, sha256Digest(manifest));
  return store.addImage({
    id: configDigest,
    manifestDigest,
    manifestMediaType: MediaType.OciManifest,
    platform,
    layers: [{ diffId: layer.diffId, digest: layer.digest, mediaType: LAYER_MEDIA_TYPE[compression], size: layer.size }],
    created,
    tag: ref ? formatReference(ref) : undefined,
  });
}
