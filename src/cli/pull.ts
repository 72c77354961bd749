import { pullImage } from "../image/pull.ts";
import { displayName, shortId } from "../image/store.ts";
import { defineCommand } from "./command.ts";
import { withStore, platformFlag, platformOf, progressDisplay, tlsVerifyFlag } from "./image/common.ts";
import { writeStderr, writeStdout } from "./output.ts";

export default defineCommand({
  meta: { name: "pull", description: "Download an image from a registry" },
  args: {
    image: { type: "positional", description: "NAME[:TAG|@DIGEST]", required: true },
    quiet: { type: "boolean", alias: "q", description: "Print only the image reference" },
    platform: platformFlag,
    tlsVerify: tlsVerifyFlag,
  },
  async run({ args, globals }) {
    await withStore(globals, async (store) => {
      const progress = args.quiet ? undefined : progressDisplay();
      const result = await pullImage(store, args.image, { platform: platformOf(args.platform), tlsVerify: args.tlsVerify, progress });
      progress?.finish();
      if (!args.quiet) {
        const name = result.image.tags.find((t) => t === result.reference) ?? result.reference;
        writeStderr(`Digest: ${result.digest}\n`);
        writeStderr(
          `Status: ${result.downloaded ? "Downloaded newer image" : "Image is up to date"} for ${displayName(name)} (${shortId(result.image.id)})\n`,
        );
      }
      writeStdout(`${result.reference}\n`);
    });
  },
});
