import { ContainrError } from "../diag/errors.ts";
import { loadImages } from "../image/archive.ts";
import { defineCommand } from "./command.ts";
import { withStore, platformFlag, platformOf } from "./image/common.ts";
import { writeStdout } from "./output.ts";

export default defineCommand({
  meta: { name: "load", description: "Load images from a tar archive (OCI layout or docker-archive)" },
  args: {
    input: { type: "string", alias: "i", description: "Read from this file instead of stdin", valueHint: "file" },
    quiet: { type: "boolean", alias: "q", description: "Print nothing" },
    platform: platformFlag,
  },
  async run({ args, globals }) {
    let stream: ReadableStream<Uint8Array>;
    if (args.input) {
      const file = Bun.file(args.input);
      if (!(await file.exists())) throw new ContainrError("CONFIG_NOT_FOUND", `load: ${args.input}: no such file`);
      stream = file.stream() as unknown as ReadableStream<Uint8Array>;
    } else {
      if (process.stdin.isTTY) throw new ContainrError("USAGE", "requested load from stdin, but stdin is a terminal", { hint: "use -i FILE or redirect stdin" });
      stream = Bun.stdin.stream() as unknown as ReadableStream<Uint8Array>;
    }
    await withStore(globals, async (store) => {
      const lines = await loadImages(store, stream, { platform: platformOf(args.platform) });
      if (!args.quiet && lines.length > 0) writeStdout(`${lines.join("\n")}\n`);
    });
  },
});
