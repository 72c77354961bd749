import { exportContainer } from "../engine/export.ts";
import { defineCommand } from "./command.ts";
import { withEngine } from "./container/common.ts";
import { writeArchive } from "./output.ts";

export default defineCommand({
  meta: { name: "export", description: "Export a container's filesystem as a tar archive" },
  args: {
    output: { type: "string", alias: "o", description: "Write to a file, instead of STDOUT", valueHint: "file" },
    container: { type: "positional", description: "CONTAINER", required: true },
  },
  run({ args, globals }) {
    return withEngine(globals, (ctx) => writeArchive(args.output, exportContainer(ctx, ctx.records.get(args.container))));
  },
});
