import { runtimeContext, startContainer } from "../../runtime/container.ts";
import { defineCommand } from "../command.ts";

export default defineCommand({
  meta: { name: "start", description: "Run the command of a created container" },
  args: { id: { type: "positional", description: "Container id", required: true } },
  run({ args, globals }) {
    startContainer(runtimeContext(globals), args.id);
  },
});
