import { ContainrError } from "../diag/errors.ts";
import { stopContainer } from "../engine/lifecycle.ts";
import { defineCommand } from "./command.ts";
import { forEachContainer, withEngine } from "./container/common.ts";

export default defineCommand({
  meta: { name: "stop", description: "Stop one or more running containers" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    time: { type: "string", alias: "t", description: "Seconds to wait before killing the container", valueHint: "int" },
    signal: { type: "string", alias: "s", description: "Signal to send to the container", valueHint: "string" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    if (args.signal !== undefined) throw new ContainrError("USAGE", "--signal is not supported by stop: use `containr kill -s`");
    let seconds: number | undefined;
    if (args.time !== undefined) {
      if (!/^-?\d+$/.test(args.time)) throw new ContainrError("USAGE", `invalid argument "${args.time}" for "-t, --time" flag: strconv.ParseInt: parsing "${args.time}": invalid syntax`);
      seconds = Number(args.time);
    }
    return withEngine(globals, (ctx) =>
      forEachContainer(ctx, [args.container, ...rest], async (record, ref) => {
        await stopContainer(ctx, record, seconds);
        process.stdout.write(`${ref}\n`);
      }),
    );
  },
});
