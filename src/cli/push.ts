import { pushImage } from "../image/push.ts";
import { defineCommand } from "./command.ts";
import { withStore, tlsVerifyFlag } from "./image/common.ts";
import { writeStderr, writeStdout } from "./output.ts";

export default defineCommand({
  meta: { name: "push", description: "Upload an image to the registry its name points at" },
  args: {
    image: { type: "positional", description: "NAME[:TAG]", required: true },
    quiet: { type: "boolean", alias: "q", description: "Print only the pushed digest" },
    tlsVerify: tlsVerifyFlag,
  },
  async run({ args, globals }) {
    await withStore(globals, async (store) => {
      const short = (digest: string) => digest.slice(7, 19);
      const result = await pushImage(store, args.image, {
        tlsVerify: args.tlsVerify,
        progress: args.quiet
          ? undefined
          : (digest, state) => {
              if (state !== "pushing") writeStderr(`${short(digest)}: ${state === "exists" ? "Layer already exists" : "Pushed"}\n`);
            },
      });
      if (!args.quiet) writeStderr(`${result.reference}: digest: ${result.digest} size: ${result.size}\n`);
      writeStdout(`${result.digest}\n`);
    });
  },
});
