import { createContainer, runtimeContext } from "../../runtime/container.ts";
import { defineCommand } from "../command.ts";

export const createFlags = {
  id: { type: "positional", description: "Container id", required: true },
  bundle: { type: "string", alias: "b", description: "Bundle directory (with config.json)", valueHint: "dir", default: "." },
  pidFile: { type: "string", description: "Write the container's pid to this file", valueHint: "file" },
  noPivot: { type: "boolean", description: "Use MS_MOVE + chroot instead of pivot_root (for a rootfs on ramfs)" },
} as const;

export default defineCommand({
  meta: { name: "create", description: "Create a container: its process waits for 'start'" },
  args: createFlags,
  run({ args, globals }) {
    createContainer(runtimeContext(globals), { id: args.id, bundle: args.bundle, pidFile: args.pidFile, noPivot: args.noPivot });
  },
});
