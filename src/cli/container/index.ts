import { defineCommand, type Command } from "../command.ts";

/** A top-level command under the name Docker's `container` group gives it (container ls, container rm). */
function as(load: () => Promise<{ default: Command<any> }>, name: string, alias: string[] = []): () => Promise<Command<any>> {
  return () => load().then((m) => ({ ...m.default, meta: { ...m.default.meta, name, alias } }));
}

/** `containr container ...`: Docker's management command for containers. */
export default defineCommand({
  meta: { name: "container", description: "Manage containers" },
  args: {},
  subCommands: {
    ls: as(() => import("../ps.ts"), "ls", ["list", "ps"]),
    rm: as(() => import("../rm.ts"), "rm", ["remove"]),
    prune: () => import("./prune.ts").then((m) => m.default),
    run: () => import("../run.ts").then((m) => m.default),
    create: () => import("../create.ts").then((m) => m.default),
    start: () => import("../start.ts").then((m) => m.default),
    stop: () => import("../stop.ts").then((m) => m.default),
    restart: () => import("../restart.ts").then((m) => m.default),
    kill: () => import("../kill.ts").then((m) => m.default),
    logs: () => import("../logs.ts").then((m) => m.default),
    attach: () => import("../attach.ts").then((m) => m.default),
    wait: () => import("../wait.ts").then((m) => m.default),
    inspect: () => import("../inspect.ts").then((m) => m.default),
    stats: () => import("../stats.ts").then((m) => m.default),
    top: () => import("../top.ts").then((m) => m.default),
    cp: () => import("../cp.ts").then((m) => m.default),
    diff: () => import("../diff.ts").then((m) => m.default),
    export: () => import("../export.ts").then((m) => m.default),
    rename: () => import("../rename.ts").then((m) => m.default),
    pause: () => import("../pause.ts").then((m) => m.default),
    unpause: () => import("../unpause.ts").then((m) => m.default),
    port: () => import("../port.ts").then((m) => m.default),
  },
});
