import { ContainrError, toContainrError } from "../../diag/errors.ts";
import { reportError } from "../../diag/log.ts";
import { defineCommand } from "../command.ts";
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
      let first: ContainrError | undefined;
      for (const name of names) {
        try {
          volumes.removeVolume(name, { force: args.force, containerExists: (id) => ids.has(id) });
          writeStdout(`${name}\n`);
        } catch (err) {
          const error = toContainrError(err);
          // -f: a missing volume is not an error (docker volume rm -f)
          if (args.force && error.code === "VOLUME_NOT_FOUND") continue;
          if (names.length === 1) throw error;
          reportError(error);
          first ??= error;
        }
      }
      return first === undefined ? 0 : first.exit;
    });
  },
});
