import { ContainrError } from "../../diag/errors.ts";
import { defineCommand } from "../command.ts";

/** connect and disconnect: a container is on one network, chosen at create (--network). */
function notSupported(name: string, description: string) {
  return defineCommand({
    meta: { name, description },
    args: {},
    passThrough: true,
    run() {
      throw new ContainrError("USAGE", `network ${name} is not supported: a container is on one network, chosen by run/create --network`, {
        hint: "remove the container and run it again with --network NAME",
      });
    },
  });
}

/** `containr network ...`: Docker's management command for networks (ADR 0009). */
export default defineCommand({
  meta: { name: "network", description: "Manage networks" },
  args: {},
  subCommands: {
    create: () => import("./create.ts").then((m) => m.default),
    ls: () => import("./ls.ts").then((m) => m.default),
    rm: () => import("./rm.ts").then((m) => m.default),
    inspect: () => import("./inspect.ts").then((m) => m.default),
    prune: () => import("./prune.ts").then((m) => m.default),
    connect: () => Promise.resolve(notSupported("connect", "Connect a container to a network (not supported)")),
    disconnect: () => Promise.resolve(notSupported("disconnect", "Disconnect a container from a network (not supported)")),
  },
});
