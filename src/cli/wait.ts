import { waitContainer } from "../engine/lifecycle.ts";
import { defineCommand } from "./command.ts";
import { forEachContainer, withEngine } from "./container/common.ts";
import { writeStdout } from "./output.ts";

export default defineCommand({
  meta: { name: "wait", description: "Block until one or more containers stop, then print their exit codes" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    return withEngine(globals, (ctx) =>
      forEachContainer(ctx, [args.container, ...rest], async (record) => {
        writeStdout(`${await waitContainer(ctx, record)}\n`);
      }),
    );
  },
});
