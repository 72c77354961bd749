import { parseVolumeFilters, pruneVolumes } from "../../engine/volumes.ts";
import { defineCommand } from "../command.ts";
import { humanSize } from "../format/units.ts";
import { confirm, withVolumeStore } from "./common.ts";
import { writeStdout } from "../output.ts";

export default defineCommand({
  meta: { name: "prune", description: "Remove unused local volumes" },
  args: {
    all: { type: "boolean", alias: "a", description: "Remove all unused volumes, not just anonymous ones" },
    filter: { type: "string", multiple: true, description: "Provide filter values (e.g. 'label=<label>')", valueHint: "filter" },
    force: { type: "boolean", alias: "f", description: "Do not prompt for confirmation" },
  },
  async run({ args, globals }) {
    const filter = parseVolumeFilters(args.filter);
    const warning = args.all
      ? "WARNING! This will remove all local volumes not used by at least one container."
      : "WARNING! This will remove anonymous local volumes not used by at least one container.";
    if (!args.force && !(await confirm(warning))) return 0;
    return withVolumeStore(globals, (volumes, ctx) => {
      const result = pruneVolumes(volumes, ctx.records.list(), args.all, filter);
      if (result.deleted.length > 0) writeStdout(`Deleted Volumes:\n${result.deleted.join("\n")}\n\n`);
      writeStdout(`Total reclaimed space: ${humanSize(result.reclaimed)}\n`);
    });
  },
});
