import { ContainrError } from "../../diag/errors.ts";
import { removeUserNetwork } from "../../engine/network.ts";
import { defineCommand } from "../command.ts";
import { writeStdout } from "../output.ts";
import { forEachReference } from "../references.ts";
import { findNetwork, withNetworkStore } from "./common.ts";

export default defineCommand({
  meta: { name: "rm", description: "Remove one or more networks", alias: ["remove"] },
  args: {
    network: { type: "positional", description: "NETWORK", required: true },
    force: { type: "boolean", alias: "f", description: "Do not error if the network does not exist" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    const refs = [args.network, ...rest];
    return withNetworkStore(globals, (networks) => {
      return forEachReference(
        refs,
        (ref) => {
          const network = findNetwork(networks, ref);
          const stored = network.user ? networks.find(network.id) : undefined;
          if (stored === undefined) {
            throw new ContainrError("NETWORK_IN_USE", `${network.name} is a pre-defined network and cannot be removed`, {
              hint: "bridge, host and none are built in",
            });
          }
          removeUserNetwork(networks, stored);
          writeStdout(`${ref}\n`);
        },
        (error) => args.force && error.code === "NETWORK_NOT_FOUND",
      );
    });
  },
});
