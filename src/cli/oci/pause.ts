import { runtimeContext } from "../../runtime/container.ts";
import { pauseContainer } from "../../runtime/manage.ts";
import { defineCommand } from "../command.ts";

export default defineCommand({
  meta: { name: "pause", description: "Freeze every process of a container" },
  args: { id: { type: "positional", description: "Container id", required: true } },
  run({ args, globals }) {
    pauseContainer(runtimeContext(globals), args.id);
  },
});
