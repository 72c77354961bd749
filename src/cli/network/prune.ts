import { endpointsOf, removeUserNetwork } from "../../engine/network.ts";
import { defineCommand } from "../command.ts";
import { writeStdout } from "../output.ts";
import { confirm } from "../volume/common.ts";
import { parseNetworkFilters, withNetworkStore } from "./common.ts";
import { bridgeName } from "../../engine/network-store.ts";

export default defineCommand({
  meta: { name: "prune", description: "Remove all unused networks" },
  args: {
    filter: { type: "string", multiple: true, description: "Provide filter values (e.g. 'label=<key>=<value>')", valueHint: "filter" },
    force: { type: "boolean", alias: "f", description: "Do not prompt for confirmation" },
  },
  async run({ args, globals }) {
    const filter = parseNetworkFilters(args.filter, ["label"]);
    if (!args.force && !(await confirm("WARNING! This will remove all custom networks not used by at least one container."))) return 0;
    return withNetworkStore(globals, (networks) => {
      const deleted: string[] = [];
      for (const network of networks.list()) {
        if (!filter({ ...network, driver: "bridge", bridge: bridgeName(network), user: true }) || endpointsOf(network).length > 0) continue;
        removeUserNetwork(networks, network);
        deleted.push(network.name);
      }
      if (deleted.length > 0) writeStdout(`Deleted Networks:\n${deleted.join("\n")}\n\n`);
    });
  },
});
