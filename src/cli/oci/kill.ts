import { parseSignal } from "../../linux/signals.ts";
import { killContainer, runtimeContext } from "../../runtime/container.ts";
import { defineCommand } from "../command.ts";

export default defineCommand({
  meta: { name: "kill", description: "Send a signal to a container's process (default SIGTERM)" },
  args: {
    id: { type: "positional", description: "Container id", required: true },
    signal: { type: "positional", description: "Signal name or number (default TERM)" },
    all: { type: "boolean", alias: "a", description: "Signal every process in the container's cgroup" },
  },
  run({ args, globals }) {
    killContainer(runtimeContext(globals), args.id, parseSignal(args.signal ?? "TERM"), args.all);
  },
});
