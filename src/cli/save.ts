import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { ContainrError } from "../diag/errors.ts";
import { saveImages } from "../image/archive.ts";
import { defineCommand } from "./command.ts";
import { openStore } from "./image/common.ts";

export default defineCommand({
  meta: { name: "save", description: "Write images to a tar archive (OCI layout with Docker's manifest.json)" },
  args: {
    output: { type: "string", alias: "o", description: "Write to this file instead of stdout", valueHint: "file" },
    image: { type: "positional", description: "IMAGE [IMAGE...]", required: true },
  },
  passThrough: true,
  async run({ args, rest, globals }) {
    if (!args.output && process.stdout.isTTY) {
      throw new ContainrError("USAGE", "refusing to write an archive to a terminal", { hint: "use -o FILE or redirect stdout" });
    }
    const store = openStore(globals);
    // Write to a temp file next to the target and rename at the end: a failed save leaves no half archive.
    const target = args.output;
    const tmp = target ? `${target}.${process.pid}.tmp` : undefined;
    const fd = tmp ? openSync(tmp, "w", 0o644) : 1;
    try {
      for await (const chunk of saveImages(store, [args.image, ...rest]) as unknown as AsyncIterable<Uint8Array>) {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      }
      if (tmp) {
        closeSync(fd);
        renameSync(tmp, target!);
      }
    } catch (err) {
      if (tmp) {
        closeSync(fd);
        rmSync(tmp, { force: true });
      }
      throw err;
    } finally {
      store.close();
    }
  },
});
