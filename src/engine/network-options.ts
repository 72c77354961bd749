/**
 * `--network`, `-p` and `-P` as `run` and `create` take them: the network
 * mode (Docker's default, the bridge; none; host) and the ports to publish,
 * with Docker's rules for the combinations. See docs/networking.md.
 */
import { ContainrError } from "../diag/errors.ts";
import { parsePublish, type PortBinding } from "./network-ports.ts";

/** bridge, none, host, or a user-defined network's name (network-store.ts) */
export type NetworkMode = string;

/** The networks every host has: `network ls` shows them, `network rm` refuses them. */
export const BUILTIN_NETWORKS = ["bridge", "host", "none"] as const;

/** The network mode when --network is not given: Docker's, the bridge. */
export const DEFAULT_NETWORK: NetworkMode = "bridge";

export interface NetworkOptions {
  network: NetworkMode;
  /** --network-alias (user-defined networks only) */
  networkAliases: string[];
  /** -p, a binding per container port (bridge only) */
  publish: PortBinding[];
  /** -P: publish the image's exposed ports on random host ports (bridge only) */
  publishAll: boolean;
}

function usage(message: string, hint: string): ContainrError {
  return new ContainrError("USAGE", message, { hint });
}

function parseNetwork(value: string | undefined): NetworkMode {
  if (value === undefined || value === "" || value === "default") return DEFAULT_NETWORK;
  const hint = "use --network bridge (the default), none (only loopback), host, or a network from `containr network ls`; see docs/networking.md";
  if (value.startsWith("container:")) throw usage(`network mode "${value}" is not supported: containr cannot share another container's network yet`, hint);
  // a user-defined network's name, id or id prefix: create resolves it against the network store
  return value;
}

/**
 * --network, -p and -P. With --network host Docker discards published ports
 * with a warning (added to warnings); --network none has no interface to
 * publish them on, so they are refused rather than ignored.
 */
export function parseNetworkOptions(
  networkFlag: string | undefined,
  publishFlags: readonly string[],
  publishAllFlag: boolean,
  warnings: string[],
  aliasFlags: readonly string[] = [],
): NetworkOptions {
  const network = parseNetwork(networkFlag);
  const networkAliases = [...aliasFlags];
  if (networkAliases.length > 0 && (BUILTIN_NETWORKS as readonly string[]).includes(network)) {
    // Docker's wording
    throw usage("network-scoped alias is supported only for containers in user defined networks", "create a network (`containr network create NAME`) and run with --network NAME");
  }
  const publish = publishFlags.flatMap(parsePublish);
  if (publish.length === 0 && !publishAllFlag) return { network, networkAliases, publish, publishAll: false };
  if (network === "host") {
    warnings.push("Published ports are discarded when using host network mode");
    return { network, networkAliases, publish: [], publishAll: false };
  }
  if (network === "none") {
    throw usage("conflicting options: port publishing and the container type network mode", "publish ports with --network bridge (the default)");
  }
  return { network, networkAliases, publish, publishAll: publishAllFlag };
}
