import { defineCommand } from "../command.ts";

/** `containr system ...`: Docker's management command for the engine as a whole. */
export default defineCommand({
  meta: { name: "system", description: "Manage containr" },
  args: {},
  subCommands: {
    df: () => import("./df.ts").then((m) => m.default),
    prune: () => import("./prune.ts").then((m) => m.default),
  },
});
