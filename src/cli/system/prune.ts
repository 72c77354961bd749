import { pruneContainers, pruneImages } from "../../engine/operations.ts";
import { parseVolumeFilters, pruneVolumes } from "../../engine/volumes.ts";
import { defineCommand } from "../command.ts";
import { humanSize } from "../format/units.ts";
import { confirm, withVolumeStore } from "../volume/common.ts";
import { writeStdout } from "../output.ts";

export default defineCommand({
  meta: { name: "prune", description: "Remove unused data" },
  args: {
    all: { type: "boolean", alias: "a", description: "Remove all unused images not just dangling ones" },
    volumes: { type: "boolean", description: "Prune anonymous volumes" },
    force: { type: "boolean", alias: "f", description: "Do not prompt for confirmation" },
  },
  async run({ args, globals }) {
    const items = ["all stopped containers"];
    if (args.volumes) items.push("all anonymous volumes not used by at least one container");
    items.push(args.all ? "all images without at least one container associated to them" : "all dangling images");
    const warning = `WARNING! This will remove:\n${items.map((i) => `  - ${i}`).join("\n")}\n`;
    if (!args.force && !(await confirm(warning))) return 0;
    return withVolumeStore(globals, (volumes, ctx) => {
      let reclaimed = 0;
      const containers = pruneContainers(ctx);
      reclaimed += containers.reclaimed;
      if (containers.deleted.length > 0) writeStdout(`Deleted Containers:\n${containers.deleted.join("\n")}\n\n`);
      if (args.volumes) {
        const pruned = pruneVolumes(volumes, ctx.records.list(), false, parseVolumeFilters([]));
        reclaimed += pruned.reclaimed;
        if (pruned.deleted.length > 0) writeStdout(`Deleted Volumes:\n${pruned.deleted.join("\n")}\n\n`);
      }
      const images = pruneImages(ctx, args.all);
      reclaimed += images.reclaimed;
      if (images.lines.length > 0) writeStdout(`Deleted Images:\n${images.lines.join("\n")}\n\n`);
      writeStdout(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
    });
  },
});
