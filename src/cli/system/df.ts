import { diskUsage } from "../../engine/operations.ts";
import { volumeLinks } from "../../engine/volumes.ts";
import { defineCommand } from "../command.ts";
import { tableFormatFlag } from "../format/flags.ts";
import { dockerContext, formatRows } from "../format/template.ts";
import { humanSize } from "../format/units.ts";
import { withVolumeStore } from "../volume/common.ts";
import { writeStdout } from "../output.ts";

const DEFAULT_TABLE = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const HEADERS = { Type: "TYPE", TotalCount: "TOTAL", Active: "ACTIVE", Size: "SIZE", Reclaimable: "RECLAIMABLE" };

export default defineCommand({
  meta: { name: "df", description: "Show containr disk usage" },
  args: {
    format: tableFormatFlag(),
  },
  run({ args, globals }) {
    return withVolumeStore(globals, (volumes, ctx) => {
      const links = volumeLinks(ctx.records.list());
      const sizes = volumes.list().map((v) => ({ name: v.name, size: volumes.size(v.name), inUse: links.has(v.name) }));
      const rows = diskUsage(ctx, sizes).map((r) =>
        dockerContext({
          Active: String(r.active),
          Reclaimable: r.size > 0 ? `${humanSize(r.reclaimable)} (${Math.trunc((r.reclaimable * 100) / r.size)}%)` : humanSize(r.reclaimable),
          Size: humanSize(r.size),
          TotalCount: String(r.total),
          Type: r.type,
        }),
      );
      const format = args.format === undefined || args.format === "" || args.format === "table" ? DEFAULT_TABLE : args.format;
      writeStdout(formatRows(format, rows, HEADERS));
    });
  },
});
