import { killRunning } from "../engine/lifecycle.ts";
import { defineCommand } from "./command.ts";
import { forEachContainer, withEngine } from "./container/common.ts";

export default defineCommand({
  meta: { name: "kill", description: "Kill one or more running containers" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    signal: { type: "string", alias: "s", description: "Signal to send to the container", valueHint: "string", default: "KILL" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    return withEngine(globals, (ctx) =>
      forEachContainer(ctx, [args.container, ...rest], (record, ref) => {
        killRunning(ctx, record, args.signal);
        process.stdout.write(`${ref}\n`);
      }),
    );
  },
});
