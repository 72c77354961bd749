import { toContainrError } from "../../diag/errors.ts";
import { reportError } from "../../diag/log.ts";
import { displayName, type ImageRecord, type ImageStore } from "../../image/store.ts";
import { defineCommand } from "../command.ts";
import { withStore } from "./common.ts";
import { writeStdout } from "../output.ts";

/** An image as `docker image inspect` shows it. */
export function inspectImage(store: ImageStore, image: ImageRecord): Record<string, unknown> {
  const config = store.readConfig(image);
  const layerDirs = image.layers.map((l) => store.layerPath(l.diffId));
  return {
    Id: image.id,
    RepoTags: image.tags.map(displayName),
    RepoDigests: image.repoDigests.map(displayName),
    Parent: "",
    Comment: config.history?.at(-1)?.comment ?? "",
    Created: config.created ?? "",
    Author: config.author ?? "",
    Config: config.config ?? {},
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: image.size,
    GraphDriver: {
      Name: "overlay",
      Data: { LowerDir: [...layerDirs].reverse().join(":") },
    },
    RootFS: { Type: "layers", Layers: config.rootfs.diff_ids },
    Metadata: { ManifestDigest: image.manifestDigest, ManifestMediaType: image.manifestMediaType },
  };
}

export default defineCommand({
  meta: { name: "inspect", description: "Show images as Docker-shaped JSON" },
  args: {
    image: { type: "positional", description: "IMAGE [IMAGE...]", required: true },
  },
  passThrough: true,
  async run({ args, rest, globals }) {
    const found: Record<string, unknown>[] = [];
    let status = 0;
    await withStore(globals, (store) => {
      for (const name of [args.image, ...rest]) {
        try {
          found.push(inspectImage(store, store.requireImage(name)));
        } catch (err) {
          reportError(toContainrError(err));
          status = toContainrError(err).exit;
        }
      }
    });
    writeStdout(`${JSON.stringify(found, null, 4)}\n`);
    // As Docker: what was found is printed, and a missing image still fails the command.
    return status === 0 ? 0 : 1;
  },
});
