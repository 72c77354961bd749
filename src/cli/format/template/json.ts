// encoding/json as docker/cli's json function and formatter contexts use it.

import { TemplateFailure } from "./errors.ts";
import { formatNumber, goMap, isMap, mapEntries, NO_VALUE } from "./values.ts";

/** A Go json.Marshaler: the method returns the value's JSON text, used as is. */
const GO_MARSHAL_JSON = Symbol("MarshalJSON");

/**
 * A row that marshals itself as docker/cli's formatter contexts do
 * (formatter.MarshalJSON): json.Marshal of its fields as a map, so keys
 * sorted and, unlike the json function's own encoding, <, > and & escaped
 * ("Digest":"\u003cnone\u003e" in `docker images --format json`).
 */
export function dockerContext<T extends object>(row: T): T {
  const marshal = () =>
    goJson(goMap({ ...row }))
      .replaceAll("<", "\\u003c")
      .replaceAll(">", "\\u003e")
      .replaceAll("&", "\\u0026");
  Object.defineProperty(row, GO_MARSHAL_JSON, { value: marshal, enumerable: false });
  return row;
}

/** encoding/json as docker/cli's json function uses it (no HTML escaping; map keys sorted). */
export function goJson(v: unknown): string {
  if (v === NO_VALUE || v === null || v === undefined) return "null";
  if (typeof v === "string") return JSON.stringify(v).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new TemplateFailure(`json: unsupported value: ${formatNumber(v)}`);
    return JSON.stringify(v);
  }
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(goJson).join(",")}]`;
  if (typeof v === "object") {
    const marshal = (v as { [GO_MARSHAL_JSON]?: () => string })[GO_MARSHAL_JSON];
    if (typeof marshal === "function") return marshal.call(v);
    const toJSON = (v as { toJSON?: () => unknown }).toJSON;
    if (typeof toJSON === "function") return goJson(toJSON.call(v));
    const entries = isMap(v) ? mapEntries(v) : Object.entries(v).filter(([, val]) => val !== undefined && typeof val !== "function");
    return `{${entries.map(([k, val]) => `${goJson(k)}:${goJson(val)}`).join(",")}}`;
  }
  return "null";
}
