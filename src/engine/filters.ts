import { ContainrError } from "../diag/errors.ts";

/**
 * docker's --filter key=value list, grouped by key (lower-cased, as dockerd
 * reads it): the caller ORs the values of one key and ANDs the keys.
 * example is a filter of the calling command, for the hint.
 */
export function groupFilters(values: readonly string[], example: string): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq <= 0) throw new ContainrError("USAGE", `bad format of filter (expected name=value)`, { hint: `e.g. --filter ${example}` });
    const key = value.slice(0, eq).toLowerCase();
    byKey.set(key, [...(byKey.get(key) ?? []), value.slice(eq + 1)]);
  }
  return byKey;
}
