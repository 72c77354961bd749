import { parseVolumeFilters, volumeLinks } from "../../engine/volumes.ts";
import { defineCommand } from "../command.ts";
import { tableFormatFlag } from "../format/flags.ts";
import { dockerContext, formatRows } from "../format/template.ts";
import { withVolumeStore } from "./common.ts";
import { writeStdout } from "../output.ts";

/** docker/cli's volume formats (cli/command/formatter/volume.go). */
const DEFAULT_TABLE = "table {{.Driver}}\t{{.Name}}";
const QUIET_FORMAT = "{{.Name}}";

export const VOLUME_HEADERS = {
  Name: "VOLUME NAME",
  Driver: "DRIVER",
  Scope: "SCOPE",
  Mountpoint: "MOUNTPOINT",
  Labels: "LABELS",
  Links: "LINKS",
  Size: "SIZE",
  Availability: "AVAILABILITY",
  Group: "GROUP",
  Status: "STATUS",
};

/** The fields of docker's volumeContext, in its JSON's (sorted) order. */
export interface VolumeRow {
  Availability: string;
  Driver: string;
  Group: string;
  Labels: string;
  Links: string;
  Mountpoint: string;
  Name: string;
  Scope: string;
  Size: string;
  Status: string;
}

export default defineCommand({
  meta: { name: "ls", description: "List volumes", alias: ["list"] },
  args: {
    quiet: { type: "boolean", alias: "q", description: "Only display volume names" },
    filter: { type: "string", alias: "f", multiple: true, description: "Provide filter values (e.g. 'dangling=true')", valueHint: "filter" },
    format: tableFormatFlag(),
  },
  run({ args, globals }) {
    const filter = parseVolumeFilters(args.filter);
    return withVolumeStore(globals, (volumes, ctx) => {
      const links = volumeLinks(ctx.records.list());
      const rows: VolumeRow[] = volumes
        .list()
        .filter((v) => filter(v, links.has(v.name)))
        .map((v) =>
          dockerContext({
            Availability: "N/A",
            Driver: v.driver,
            Group: "N/A",
            Labels: Object.entries(v.labels)
              .map(([k, val]) => `${k}=${val}`)
              .join(","),
            Links: "N/A",
            Mountpoint: volumes.mountpoint(v.name),
            Name: v.name,
            Scope: "local",
            Size: "N/A",
            Status: "N/A",
          }),
        );
      let format = args.format ?? "";
      if (args.quiet && (format === "" || format.startsWith("table"))) format = QUIET_FORMAT;
      else if (format === "" || format === "table") format = DEFAULT_TABLE;
      writeStdout(formatRows(format, rows, VOLUME_HEADERS));
    });
  },
});
