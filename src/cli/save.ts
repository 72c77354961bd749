import { saveImages } from "../image/archive.ts";
import { defineCommand } from "./command.ts";
import { openStore } from "./image/common.ts";
import { writeArchive } from "./output.ts";

export default defineCommand({
  meta: { name: "save", description: "Write images to a tar archive (OCI layout with Docker's manifest.json)" },
  args: {
    output: { type: "string", alias: "o", description: "Write to this file instead of stdout", valueHint: "file" },
    image: { type: "positional", description: "IMAGE [IMAGE...]", required: true },
  },
  passThrough: true,
  async run({ args, rest, globals }) {
    const store = openStore(globals);
    try {
      await writeArchive(args.output, saveImages(store, [args.image, ...rest]) as unknown as AsyncIterable<Uint8Array>);
    } finally {
      store.close();
    }
  },
});
