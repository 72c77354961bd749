import { defineCommand } from "./command.ts";
import { withEngine } from "./container/common.ts";

export default defineCommand({
  meta: { name: "rename", description: "Rename a container" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    newName: { type: "positional", description: "NEW_NAME", required: true },
  },
  run({ args, globals }) {
    return withEngine(globals, (ctx) => {
      ctx.records.rename(ctx.records.get(args.container).id, args.newName);
    });
  },
});
