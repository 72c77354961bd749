import { containerExited } from "../engine/lifecycle.ts";
import { defineCommand } from "./command.ts";
import { withEngine } from "./container/common.ts";

/**
 * The monitor's exit command (hidden, as podman's `container cleanup`):
 * record the exit, release the container's resources, apply --rm and the
 * restart policy.
 */
export default defineCommand({
  meta: { name: "container-exited", description: "Internal: clean up after a container's init exited", hidden: true },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
  },
  run({ args, globals }) {
    return withEngine(globals, (ctx) => containerExited(ctx, args.container));
  },
});
