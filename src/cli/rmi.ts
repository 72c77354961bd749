import { ContainrError, toContainrError } from "../diag/errors.ts";
import { reportError } from "../diag/log.ts";
import { defineCommand } from "./command.ts";
import { withStore } from "./image/common.ts";
import { writeStdout } from "./output.ts";

export default defineCommand({
  meta: { name: "rmi", description: "Remove one or more images (untag; delete when no name is left)" },
  args: {
    force: { type: "boolean", alias: "f", description: "Remove an image with several tags by ID, or untag one a container uses" },
    image: { type: "positional", description: "IMAGE [IMAGE...]: name[:tag], name@digest or ID", required: true },
  },
  passThrough: true,
  async run({ args, rest, globals }) {
    const names = [args.image, ...rest];
    let failed = 0;
    await withStore(globals, (store) => {
      for (const name of names) {
        try {
          const lines = store.removeImage(name, args.force);
          if (lines.length > 0) writeStdout(`${lines.join("\n")}\n`);
        } catch (err) {
          // Docker goes on with the other images and reports each failure.
          if (names.length === 1) throw err;
          failed++;
          reportError(toContainrError(err));
        }
      }
    });
    if (failed > 0) throw new ContainrError("IMAGE_NOT_FOUND", `${failed} of ${names.length} images could not be removed`);
  },
});
