import { pauseContainer } from "../engine/operations.ts";
import { defineCommand } from "./command.ts";
import { forEachContainer, withEngine } from "./container/common.ts";

export default defineCommand({
  meta: { name: "pause", description: "Pause all processes within one or more containers" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    return withEngine(globals, (ctx) =>
      forEachContainer(ctx, [args.container, ...rest], (record, ref) => {
        pauseContainer(ctx, record);
        process.stdout.write(`${ref}\n`);
      }),
    );
  },
});
