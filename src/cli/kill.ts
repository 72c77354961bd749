import { killRunning } from "../engine/lifecycle.ts";
import { defineCommand } from "./command.ts";
import { actOnEachContainer } from "./container/common.ts";

export default defineCommand({
  meta: { name: "kill", description: "Kill one or more running containers" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    signal: { type: "string", alias: "s", description: "Signal to send to the container", valueHint: "string", default: "KILL" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    return actOnEachContainer(globals, [args.container, ...rest], (ctx, record) => killRunning(ctx, record, args.signal));
  },
});
