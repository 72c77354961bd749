import { deleteContainer, runtimeContext } from "../../runtime/container.ts";
import { defineCommand } from "../command.ts";

export default defineCommand({
  meta: { name: "delete", description: "Remove a container (a running one needs --force)" },
  args: {
    id: { type: "positional", description: "Container id", required: true },
    force: { type: "boolean", alias: "f", description: "Kill the container if it is running" },
  },
  run({ args, globals }) {
    deleteContainer(runtimeContext(globals), args.id, args.force);
  },
});
