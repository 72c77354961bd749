import { topContainer } from "../engine/operations.ts";
import { defineCommand } from "./command.ts";
import { withEngine } from "./container/common.ts";
import { tabwrite } from "./format/table.ts";
import { writeStdout } from "./output.ts";

export default defineCommand({
  meta: { name: "top", description: "Display the running processes of a container" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
  },
  // everything after the container is ps's options: `top web aux`, `top web -o pid,comm`
  passThrough: true,
  run({ args, rest, globals }) {
    return withEngine(globals, (ctx) => {
      const table = topContainer(ctx, ctx.records.get(args.container), rest);
      const lines = [table.Titles, ...table.Processes].map((row) => row.join("\t"));
      writeStdout(tabwrite(`${lines.join("\n")}\n`));
    });
  },
});
