import { ContainrError } from "../../diag/errors.ts";
import { defineCommand } from "../command.ts";
import { writeStdout } from "../output.ts";
import { withNetworkStore } from "./common.ts";

function usage(message: string, hint?: string): ContainrError {
  return new ContainrError("USAGE", message, { hint });
}

/** --label values: KEY=VALUE (a bare KEY is an empty value, as docker/cli's map options). */
function labelsOf(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    const key = eq < 0 ? value : value.slice(0, eq);
    if (key === "") throw usage(`invalid argument "${value}" for "-l, --label" flag: empty key`);
    out[key] = eq < 0 ? "" : value.slice(eq + 1);
  }
  return out;
}

/** Docker's repeated --subnet/--gateway: containr takes one IPv4 subnet per network. */
function single(values: readonly string[], flag: string): string | undefined {
  if (values.length > 1) throw usage(`${flag} given ${values.length} times: containr networks have one IPv4 subnet`);
  return values[0];
}

export default defineCommand({
  meta: { name: "create", description: "Create a network" },
  args: {
    name: { type: "positional", description: "NETWORK", required: true },
    driver: { type: "string", alias: "d", description: "Driver to manage the Network (bridge)", valueHint: "string", default: "bridge" },
    subnet: { type: "string", multiple: true, description: "Subnet in CIDR format that represents a network segment", valueHint: "strings" },
    gateway: { type: "string", multiple: true, description: "IPv4 Gateway for the master subnet", valueHint: "strings" },
    label: { type: "string", alias: "l", multiple: true, description: "Set metadata on a network", valueHint: "list" },
    internal: { type: "boolean", description: "Restrict external access to the network" },
    ipv6: { type: "boolean", description: "Enable IPv6 networking (not supported)" },
  },
  run({ args, globals }) {
    if (args.driver !== "bridge") {
      throw usage(`network driver "${args.driver}" is not supported`, "containr has the bridge driver only");
    }
    if (args.ipv6) throw usage("--ipv6 is not supported: containr networks are IPv4 only");
    const subnet = single(args.subnet, "--subnet");
    const gateway = single(args.gateway, "--gateway");
    const labels = labelsOf(args.label);
    return withNetworkStore(globals, (networks) => {
      const network = networks.create({ name: args.name, subnet, gateway, internal: args.internal === true, labels });
      writeStdout(`${network.id}\n`);
    });
  },
});
