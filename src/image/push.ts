/**
 * Push a local image to the registry its name points at: each blob is
 * HEAD-checked and uploaded only when missing (monolithic PUT, or PATCH
 * chunks for big blobs), then the manifest is PUT under the tag. The bytes
 * pushed are the ones pulled or built, so digests stay the same.
 */
import { ContainrError } from "../diag/errors.ts";
import { formatReference, parseReference, repositoryName } from "./reference.ts";
import { RegistryClient, type RegistryOptions } from "./registry.ts";
import type { ImageStore } from "./store.ts";

export interface PushOptions extends RegistryOptions {
  /** blobs larger than this go up in PATCH chunks of this size */
  chunkSize?: number;
  progress?: (digest: string, state: "exists" | "pushing" | "pushed") => void;
}

export interface PushResult {
  reference: string;
  digest: string;
  size: number;
}

const DEFAULT_CHUNK_SIZE = 32 * 1024 * 1024;

export async function pushImage(store: ImageStore, name: string, options: PushOptions = {}): Promise<PushResult> {
  const ref = parseReference(name);
  if (ref.digest) throw new ContainrError("USAGE", `cannot push by digest: ${name}`, { hint: "push a NAME[:TAG]" });
  const image = store.requireImage(name);
  const client = new RegistryClient(ref.domain, options);
  const blobs = [
    ...image.layers.map((l) => ({ digest: l.digest, size: l.size })),
    { digest: image.id, size: store.readBlob(image.id).length },
  ];
  for (const blob of blobs) {
    if (!store.hasBlob(blob.digest)) {
      throw new ContainrError("IMAGE_NOT_FOUND", `${name}: blob ${blob.digest} is not in the local store`, { hint: "pull the image again before pushing it" });
    }
    if (await client.hasBlob(ref.path, blob.digest)) {
      options.progress?.(blob.digest, "exists");
      continue;
    }
    options.progress?.(blob.digest, "pushing");
    await client.uploadBlob(ref.path, blob.digest, store.blobPath(blob.digest), blob.size, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
    options.progress?.(blob.digest, "pushed");
  }
  const manifest = store.readBlob(image.manifestDigest);
  const digest = await client.putManifest(ref.path, ref.tag!, manifest, image.manifestMediaType);
  if (digest !== image.manifestDigest) {
    throw new ContainrError("DIGEST_MISMATCH", `${name}: the registry stored the manifest as ${digest}, expected ${image.manifestDigest}`);
  }
  store.addRepoDigest(image.id, `${repositoryName(ref)}@${digest}`);
  return { reference: formatReference(ref), digest, size: manifest.length };
}
