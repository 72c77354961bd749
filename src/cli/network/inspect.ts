import { inspectNetwork } from "../../engine/network.ts";
import { defineCommand } from "../command.ts";
import { templateFormatFlag } from "../format/flags.ts";
import { inspectTemplate, printInspected } from "../format/inspect.ts";
import { findNetwork, withNetworkStore } from "./common.ts";

export default defineCommand({
  meta: { name: "inspect", description: "Display detailed information on one or more networks" },
  args: {
    network: { type: "positional", description: "NETWORK", required: true },
    format: templateFormatFlag,
  },
  passThrough: true,
  run({ args, rest, globals }) {
    const template = inspectTemplate(args.format);
    return withNetworkStore(globals, (networks) =>
      printInspected([args.network, ...rest], template, (ref) => inspectNetwork(findNetwork(networks, ref)), "NETWORK_NOT_FOUND"),
    );
  },
});
