import { containerState, runtimeContext } from "../../runtime/container.ts";
import { defineCommand } from "../command.ts";
import { writeStdout } from "../output.ts";

export default defineCommand({
  meta: { name: "state", description: "Print the state of a container (JSON)" },
  args: { id: { type: "positional", description: "Container id", required: true } },
  run({ args, globals }) {
    writeStdout(`${JSON.stringify(containerState(runtimeContext(globals), args.id), null, 2)}\n`);
  },
});
