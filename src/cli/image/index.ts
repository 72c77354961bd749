import { defineCommand, type Command } from "../command.ts";

/** A top-level command under the name Docker's `image` group gives it (image ls, image rm). */
function as(load: () => Promise<{ default: Command<any> }>, name: string, alias: string[] = []): () => Promise<Command<any>> {
  return () => load().then((m) => ({ ...m.default, meta: { ...m.default.meta, name, alias } }));
}

/** `containr image ...`: Docker's management command for images. */
export default defineCommand({
  meta: { name: "image", description: "Manage images" },
  args: {},
  subCommands: {
    ls: as(() => import("../images.ts"), "ls", ["list"]),
    rm: as(() => import("../rmi.ts"), "rm", ["remove"]),
    pull: () => import("../pull.ts").then((m) => m.default),
    push: () => import("../push.ts").then((m) => m.default),
    tag: () => import("../tag.ts").then((m) => m.default),
    inspect: () => import("./inspect.ts").then((m) => m.default),
    history: () => import("../history.ts").then((m) => m.default),
    import: () => import("../import.ts").then((m) => m.default),
    save: () => import("../save.ts").then((m) => m.default),
    load: () => import("../load.ts").then((m) => m.default),
  },
});
