import { defineCommand } from "../command.ts";
import { tableFormatFlag } from "../format/flags.ts";
import { dockerContext, formatRows } from "../format/template.ts";
import { writeStdout } from "../output.ts";
import { allNetworks, parseNetworkFilters, withNetworkStore } from "./common.ts";

/** docker/cli's network formats (cli/command/formatter/network.go). */
const DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
const QUIET_FORMAT = "{{.ID}}";

const NETWORK_HEADERS = {
  ID: "NETWORK ID",
  Name: "NAME",
  Driver: "DRIVER",
  Scope: "SCOPE",
  IPv6: "IPV6",
  Internal: "INTERNAL",
  Labels: "LABELS",
  CreatedAt: "CREATED AT",
};

export default defineCommand({
  meta: { name: "ls", description: "List networks", alias: ["list"] },
  args: {
    quiet: { type: "boolean", alias: "q", description: "Only display network IDs" },
    filter: { type: "string", alias: "f", multiple: true, description: "Provide filter values (e.g. 'driver=bridge')", valueHint: "filter" },
    format: tableFormatFlag(),
    "no-trunc": { type: "boolean", description: "Do not truncate the output" },
  },
  run({ args, globals }) {
    const filter = parseNetworkFilters(args.filter, ["name", "label", "driver"]);
    return withNetworkStore(globals, (networks) => {
      const rows = allNetworks(networks)
        .filter(filter)
        .map((n) =>
          dockerContext({
            CreatedAt: n.created,
            Driver: n.driver,
            ID: args["no-trunc"] ? n.id : n.id.slice(0, 12),
            IPv6: "false",
            Internal: String(n.internal),
            Labels: Object.entries(n.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(","),
            Name: n.name,
            Scope: "local",
          }),
        );
      let format = args.format ?? "";
      if (args.quiet && (format === "" || format.startsWith("table"))) format = QUIET_FORMAT;
      else if (format === "" || format === "table") format = DEFAULT_TABLE;
      writeStdout(formatRows(format, rows, NETWORK_HEADERS));
    });
  },
});
