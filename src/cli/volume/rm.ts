import { defineCommand } from "../command.ts";
import { forEachReference } from "../references.ts";
import { withVolumeStore } from "./common.ts";
import { writeStdout } from "../output.ts";

export default defineCommand({
  meta: { name: "rm", description: "Remove one or more volumes", alias: ["remove"] },
  args: {
    volume: { type: "positional", description: "VOLUME", required: true },
    force: { type: "boolean", alias: "f", description: "Force the removal of one or more volumes, even in use" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    const names = [args.volume, ...rest];
    return withVolumeStore(globals, (volumes, ctx) => {
      const ids = new Set(ctx.records.list().map((r) => r.id));
      return forEachReference(
        names,
        (name) => {
          volumes.removeVolume(name, { force: args.force, containerExists: (id) => ids.has(id) });
          writeStdout(`${name}\n`);
        },
        // -f: a missing volume is not an error (docker volume rm -f)
        (error) => args.force && error.code === "VOLUME_NOT_FOUND",
      );
    });
  },
});
