import { pruneContainers } from "../../engine/operations.ts";
import { defineCommand } from "../command.ts";
import { humanSize } from "../format/units.ts";
import { confirm } from "../volume/common.ts";
import { withEngine } from "./common.ts";
import { writeStdout } from "../output.ts";

export default defineCommand({
  meta: { name: "prune", description: "Remove all stopped containers" },
  args: {
    force: { type: "boolean", alias: "f", description: "Do not prompt for confirmation" },
  },
  async run({ args, globals }) {
    if (!args.force && !(await confirm("WARNING! This will remove all stopped containers."))) return 0;
    return withEngine(globals, (ctx) => {
      const result = pruneContainers(ctx);
      if (result.deleted.length > 0) writeStdout(`Deleted Containers:\n${result.deleted.join("\n")}\n\n`);
      writeStdout(`Total reclaimed space: ${humanSize(result.reclaimed)}\n`);
    });
  },
});
