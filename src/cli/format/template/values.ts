// Go values: maps vs structs, kinds, truth, and fmt's %v printing.

import { formatFloat } from "../units.ts";

const goMaps = new WeakSet<object>();

/** Mark an object as a Go map (missing keys print "<no value>", keys sort). Returns it. */
export function goMap<T extends object>(value: T): T {
  goMaps.add(value);
  return value;
}

/** Go's zero reflect.Value: what a missing map key evaluates to. */
export const NO_VALUE = Symbol("no value");

export type Fn = (...args: unknown[]) => unknown;

export function isMap(v: unknown): v is object {
  return v instanceof Map || (typeof v === "object" && v !== null && goMaps.has(v));
}

export function mapEntries(v: object): [string, unknown][] {
  const entries: [string, unknown][] =
    v instanceof Map ? [...v.entries()].map(([k, val]) => [String(k), val]) : Object.entries(v).filter(([, val]) => typeof val !== "function");
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function mapGet(v: object, key: string): unknown {
  if (v instanceof Map) return v.has(key) ? v.get(key) : NO_VALUE;
  return Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : NO_VALUE;
}

/** Go's kind names, for error messages. */
export function kindOf(v: unknown): string {
  if (v === NO_VALUE) return "<no value>";
  if (v === null || v === undefined) return "nil";
  if (typeof v === "string") return "string";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float64";
  if (typeof v === "boolean") return "bool";
  if (Array.isArray(v)) return "slice";
  if (typeof v === "function") return "func";
  return isMap(v) ? "map" : "struct";
}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truth(v: unknown): boolean {
  if (v === NO_VALUE || v === null || v === undefined) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "string" || Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  if (isMap(v)) return mapEntries(v).length > 0;
  return true;
}

export function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : formatFloat(n, "g", -1);
}

/** fmt's %v, as text/template prints a value. */
export function printValue(v: unknown): string {
  if (v === NO_VALUE) return "<no value>";
  return printInner(v);
}

export function printInner(v: unknown): string {
  if (v === null || v === undefined || v === NO_VALUE) return "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number") return formatNumber(v);
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(printInner).join(" ")}]`;
  if (typeof v === "object") {
    if (isMap(v)) return `map[${mapEntries(v).map(([k, val]) => `${k}:${printInner(val)}`).join(" ")}]`;
    return `{${Object.values(v).filter((val) => typeof val !== "function").map(printInner).join(" ")}}`;
  }
  return String(v);
}

/** Go's strconv.Quote: Go escapes, printable Unicode kept. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case "\\": out += "\\\\"; continue;
      case "\x07": out += "\\a"; continue;
      case "\b": out += "\\b"; continue;
      case "\f": out += "\\f"; continue;
      case "\n": out += "\\n"; continue;
      case "\r": out += "\\r"; continue;
      case "\t": out += "\\t"; continue;
      case "\v": out += "\\v"; continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) out += "\\ufffd"; // a lone surrogate is invalid UTF-8 to Go
    else if (/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) out += ch;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += `\\U${cp.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}
