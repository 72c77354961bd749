import { diffContainer } from "../engine/operations.ts";
import { defineCommand } from "./command.ts";
import { withEngine } from "./container/common.ts";
import { writeStdout } from "./output.ts";

export default defineCommand({
  meta: { name: "diff", description: "Inspect changes to files or directories on a container's filesystem" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
  },
  run({ args, globals }) {
    return withEngine(globals, (ctx) => {
      const changes = diffContainer(ctx, ctx.records.get(args.container));
      writeStdout(changes.map((c) => `${c.Kind} ${c.Path}\n`).join(""));
    });
  },
});
