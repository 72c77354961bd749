import { restartContainer } from "../engine/lifecycle.ts";
import { defineCommand } from "./command.ts";
import { actOnEachContainer, stopSeconds, stopTimeFlag } from "./container/common.ts";

export default defineCommand({
  meta: { name: "restart", description: "Restart one or more containers" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    time: stopTimeFlag,
  },
  passThrough: true,
  run({ args, rest, globals }) {
    const seconds = stopSeconds(args.time);
    return actOnEachContainer(globals, [args.container, ...rest], (ctx, record) => restartContainer(ctx, record, seconds));
  },
});
