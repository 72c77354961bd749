import { runtimeContext } from "../../runtime/container.ts";
import { resumeContainer } from "../../runtime/manage.ts";
import { defineCommand } from "../command.ts";

export default defineCommand({
  meta: { name: "resume", description: "Thaw a paused container" },
  args: { id: { type: "positional", description: "Container id", required: true } },
  run({ args, globals }) {
    resumeContainer(runtimeContext(globals), args.id);
  },
});
