/** What the network commands share: the store opened with the engine, the views, ls's and prune's filters. */
import { ContainrError } from "../../diag/errors.ts";
import type { EngineContext } from "../../engine/context.ts";
import { groupFilters } from "../../engine/filters.ts";
import { builtinNetworkId } from "../../engine/inspect.ts";
import { listNetworks, type NetworkView } from "../../engine/network.ts";
import { networkNotFound, NetworkStore } from "../../engine/network-store.ts";
import { withEngine } from "../container/common.ts";

export function withNetworkStore<T>(globals: Record<string, unknown>, fn: (networks: NetworkStore, ctx: EngineContext) => Promise<T> | T): Promise<T> {
  return withEngine(globals, async (ctx) => {
    const networks = NetworkStore.open(ctx.dataRoot);
    try {
      return await fn(networks, ctx);
    } finally {
      networks.close();
    }
  });
}

export function allNetworks(store: NetworkStore): NetworkView[] {
  return listNetworks(store, builtinNetworkId);
}

/** A network by name, full id or unique id prefix, built-in ones included. */
export function findNetwork(store: NetworkStore, ref: string): NetworkView {
  const all = allNetworks(store);
  const exact = all.find((n) => n.name === ref || n.id === ref);
  if (exact !== undefined) return exact;
  const byPrefix = /^[0-9a-f]+$/.test(ref) ? all.filter((n) => n.id.startsWith(ref)) : [];
  if (byPrefix.length === 1 && byPrefix[0] !== undefined) return byPrefix[0];
  if (byPrefix.length > 1) {
    throw new ContainrError("NETWORK_CONFLICT", `network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`, {
      hint: "give more characters of the id, or the name",
    });
  }
  throw networkNotFound(ref);
}

/** --filter name=, label=, driver= (Docker's: name matches a part of the name; label KEY or KEY=VALUE). */
export function parseNetworkFilters(values: readonly string[], allowed: readonly string[]): (n: NetworkView) => boolean {
  const groups = groupFilters(values, "name=mynet");
  for (const key of groups.keys()) {
    if (!allowed.includes(key)) throw new ContainrError("USAGE", `invalid filter '${key}'`, { hint: `the filters are ${allowed.join(", ")}` });
  }
  const label = (n: NetworkView, want: string) => {
    const eq = want.indexOf("=");
    return eq < 0 ? want in n.labels : n.labels[want.slice(0, eq)] === want.slice(eq + 1);
  };
  const tests: Record<string, (n: NetworkView, value: string) => boolean> = {
    name: (n, v) => n.name.includes(v),
    label,
    driver: (n, v) => n.driver === v,
  };
  return (n) => [...groups].every(([key, wanted]) => wanted.some((v) => tests[key]?.(n, v) === true));
}
