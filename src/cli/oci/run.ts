import { runContainer, runtimeContext } from "../../runtime/container.ts";
import { defineCommand } from "../command.ts";
import { createFlags, createOptions } from "./create.ts";

export default defineCommand({
  meta: { name: "run", description: "Create and start a container, wait for it and exit with its status" },
  args: {
    ...createFlags,
    detach: { type: "boolean", alias: "d", description: "Do not wait for the container" },
  },
  run({ args, globals }) {
    return runContainer(runtimeContext(globals), { ...createOptions(args), detach: args.detach });
  },
});
