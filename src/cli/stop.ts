import { ContainrError } from "../diag/errors.ts";
import { stopContainer } from "../engine/lifecycle.ts";
import { defineCommand } from "./command.ts";
import { actOnEachContainer, stopSeconds, stopTimeFlag } from "./container/common.ts";

export default defineCommand({
  meta: { name: "stop", description: "Stop one or more running containers" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    time: stopTimeFlag,
    signal: { type: "string", alias: "s", description: "Signal to send to the container", valueHint: "string" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    if (args.signal !== undefined) throw new ContainrError("USAGE", "--signal is not supported by stop: use `containr kill -s`");
    const seconds = stopSeconds(args.time);
    return actOnEachContainer(globals, [args.container, ...rest], (ctx, record) => stopContainer(ctx, record, seconds));
  },
});
