import { defineCommand } from "../command.ts";

/** `containr volume ...`: Docker's management command for volumes. */
export default defineCommand({
  meta: { name: "volume", description: "Manage volumes" },
  args: {},
  subCommands: {
    create: () => import("./create.ts").then((m) => m.default),
    ls: () => import("./ls.ts").then((m) => m.default),
    rm: () => import("./rm.ts").then((m) => m.default),
    inspect: () => import("./inspect.ts").then((m) => m.default),
    prune: () => import("./prune.ts").then((m) => m.default),
  },
});
