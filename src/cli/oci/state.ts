import { containerState, runtimeContext } from "../../runtime/container.ts";
import { defineCommand } from "../command.ts";

export default defineCommand({
  meta: { name: "state", description: "Print the state of a container (JSON)" },
  args: { id: { type: "positional", description: "Container id", required: true } },
  run({ args, globals }) {
    process.stdout.write(`${JSON.stringify(containerState(runtimeContext(globals), args.id), null, 2)}\n`);
  },
});
