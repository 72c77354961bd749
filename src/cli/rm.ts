import { removeContainer } from "../engine/lifecycle.ts";
import { defineCommand } from "./command.ts";
import { actOnEachContainer } from "./container/common.ts";

export default defineCommand({
  meta: { name: "rm", description: "Remove one or more containers" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    force: { type: "boolean", alias: "f", description: "Force the removal of a running container (uses SIGKILL)" },
    volumes: { type: "boolean", alias: "v", description: "Remove anonymous volumes associated with the container" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    return actOnEachContainer(globals, [args.container, ...rest], (ctx, record) => removeContainer(ctx, record, args.force, args.volumes));
  },
});
