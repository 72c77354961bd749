import { ContainrError } from "../diag/errors.ts";
import { restartContainer } from "../engine/lifecycle.ts";
import { defineCommand } from "./command.ts";
import { forEachContainer, withEngine } from "./container/common.ts";

export default defineCommand({
  meta: { name: "restart", description: "Restart one or more containers" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    time: { type: "string", alias: "t", description: "Seconds to wait before killing the container", valueHint: "int" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    let seconds: number | undefined;
    if (args.time !== undefined) {
      if (!/^-?\d+$/.test(args.time)) throw new ContainrError("USAGE", `invalid argument "${args.time}" for "-t, --time" flag: strconv.ParseInt: parsing "${args.time}": invalid syntax`);
      seconds = Number(args.time);
    }
    return withEngine(globals, (ctx) =>
      forEachContainer(ctx, [args.container, ...rest], async (record, ref) => {
        await restartContainer(ctx, record, seconds);
        process.stdout.write(`${ref}\n`);
      }),
    );
  },
});
