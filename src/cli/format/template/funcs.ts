// Functions: the built-in template functions (Go's and docker/cli's).

import { formatFloat } from "../units.ts";
import { TemplateFailure } from "./errors.ts";
import { goJson } from "./json.ts";
import { type Fn, goQuote, isMap, kindOf, mapEntries, mapGet, NO_VALUE, printInner, truth } from "./values.ts";

function expectString(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === NO_VALUE) throw new TemplateFailure("invalid value; expected string");
  throw new TemplateFailure(`wrong type for value; expected string; got ${kindOf(v)}`);
}

function expectInt(v: unknown): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  throw new TemplateFailure(`wrong type for value; expected int; got ${kindOf(v)}`);
}

function basicKind(v: unknown): "bool" | "number" | "string" | "nil" | "other" {
  if (v === NO_VALUE || v === null || v === undefined) return "nil";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return "number";
  if (typeof v === "string") return "string";
  return "other";
}

function eq(a: unknown, ...others: unknown[]): boolean {
  if (others.length === 0) throw new TemplateFailure("missing argument for comparison");
  const ka = basicKind(a);
  return others.some((b) => {
    const kb = basicKind(b);
    if (ka === "other" || kb === "other") throw new TemplateFailure("non-comparable type");
    if (ka !== kb) {
      if (ka !== "nil" && kb !== "nil") throw new TemplateFailure("incompatible types for comparison");
      return false;
    }
    return ka === "nil" || a === b;
  });
}

function lt(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if ((ka !== "number" && ka !== "string") || (kb !== "number" && kb !== "string")) throw new TemplateFailure("invalid type for comparison");
  if (ka !== kb) throw new TemplateFailure("incompatible types for comparison");
  return (a as number | string) < (b as number | string);
}

function length(v: unknown): number {
  if (typeof v === "string") return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (v !== null && typeof v === "object" && isMap(v)) return mapEntries(v).length;
  if (v === null || v === undefined || v === NO_VALUE) throw new TemplateFailure("len of nil pointer");
  throw new TemplateFailure(`len of type ${kindOf(v)}`);
}

/**
 * index: arrays by int, maps (and plain objects) by key. A missing key gives
 * the zero value of a string map, "", as for Docker's Labels.
 */
function index(item: unknown, ...keys: unknown[]): unknown {
  let v = item;
  for (const key of keys) {
    if (v === null || v === undefined || v === NO_VALUE) throw new TemplateFailure("index of untyped nil");
    if (Array.isArray(v) || typeof v === "string") {
      const i = expectInt(key);
      if (i < 0 || i >= v.length) throw new TemplateFailure(`index out of range: ${i}`);
      v = typeof v === "string" ? Buffer.from(v)[i] : v[i];
    } else if (typeof v === "object") {
      const found = mapGet(v, expectString(key));
      v = found === NO_VALUE ? "" : found;
    } else {
      throw new TemplateFailure(`can't index item of type ${kindOf(v)}`);
    }
  }
  return v;
}

/** fmt.Sprint: spaces between operands when neither is a string. */
function sprint(args: unknown[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += printInner(a);
  });
  return out;
}

function badVerb(verb: string, v: unknown): string {
  if (v === null || v === undefined || v === NO_VALUE) return `%!${verb}(<nil>)`;
  return `%!${verb}(${kindOf(v)}=${printInner(v)})`;
}

function pad(text: string, width: number | undefined, flags: string, numeric: boolean): string {
  if (width === undefined) return text;
  const fill = width - [...text].length;
  if (fill <= 0) return text;
  if (flags.includes("-")) return text + " ".repeat(fill);
  if (flags.includes("0") && numeric) {
    const sign = /^[+-]/.test(text) ? (text[0] as string) : "";
    return sign + "0".repeat(fill) + text.slice(sign.length);
  }
  return " ".repeat(fill) + text;
}

/** fmt.Sprintf for the verbs templates use: v s q d x X f F e g t %, with flags, width and precision. */
function sprintf(format: string, args: unknown[]): string {
  let argIndex = 0;
  const out = format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])/g, (_, flags: string, w?: string, p?: string, verb?: string) => {
    if (verb === "%") return "%";
    const width = w === undefined ? undefined : Number(w);
    const precision = p === undefined ? undefined : Number(p || "0");
    if (argIndex >= args.length) return `%!${verb}(MISSING)`;
    const v = args[argIndex++];
    const sign = (n: number, text: string) => (n >= 0 && flags.includes("+") ? `+${text}` : n >= 0 && flags.includes(" ") ? ` ${text}` : text);
    switch (verb) {
      case "v":
        return pad(v === NO_VALUE ? "<nil>" : printInner(v), width, flags, false);
      case "s":
        if (typeof v === "string") return pad(precision === undefined ? v : [...v].slice(0, precision).join(""), width, flags, false);
        return Array.isArray(v) || (typeof v === "object" && v !== null) ? pad(printInner(v), width, flags, false) : badVerb("s", v);
      case "q":
        return typeof v === "string" ? pad(goQuote(v), width, flags, false) : badVerb("q", v);
      case "t":
        return typeof v === "boolean" ? pad(String(v), width, flags, false) : badVerb("t", v);
      case "d":
        return typeof v === "number" && Number.isInteger(v) ? pad(sign(v, String(v)), width, flags, true) : badVerb("d", v);
      case "x":
      case "X": {
        let text: string;
        if (typeof v === "number" && Number.isInteger(v)) text = (v < 0 ? "-" : "") + Math.abs(v).toString(16);
        else if (typeof v === "string") text = Buffer.from(v).toString("hex");
        else return badVerb(verb, v);
        return pad(verb === "X" ? text.toUpperCase() : text, width, flags, true);
      }
      case "f":
      case "F":
      case "e":
      case "g":
        if (typeof v !== "number") return badVerb(verb, v);
        return pad(sign(v, formatFloat(v, verb === "F" ? "f" : verb, precision ?? (verb === "g" ? -1 : 6))), width, flags, true);
      default:
        return badVerb(verb as string, v);
    }
  });
  if (argIndex < args.length) {
    const extra = args.slice(argIndex).map((v) => (v === null || v === undefined ? "<nil>" : `${kindOf(v)}=${printInner(v)}`));
    return `${out}%!(EXTRA ${extra.join(", ")})`;
  }
  return out;
}

/** strings.Title: upper-case the first letter of each word. */
function title(s: string): string {
  let previous = " ";
  let out = "";
  for (const ch of s) {
    const separator = !/[\p{L}\p{N}_]/u.test(previous);
    out += separator ? ch.toUpperCase() : ch;
    previous = ch;
  }
  return out;
}

export interface FuncSpec {
  /** [min, max] arguments; max -1 for variadic */
  arity: [number, number];
  fn: Fn;
}

export const FUNCS: Record<string, FuncSpec> = {
  not: { arity: [1, 1], fn: (v) => !truth(v) },
  eq: { arity: [1, -1], fn: (a, ...rest) => eq(a, ...rest) },
  ne: { arity: [2, 2], fn: (a, b) => !eq(a, b) },
  lt: { arity: [2, 2], fn: (a, b) => lt(a, b) },
  le: { arity: [2, 2], fn: (a, b) => lt(a, b) || eq(a, b) },
  gt: { arity: [2, 2], fn: (a, b) => !lt(a, b) && !eq(a, b) },
  ge: { arity: [2, 2], fn: (a, b) => !lt(a, b) },
  len: { arity: [1, 1], fn: length },
  index: { arity: [1, -1], fn: index },
  print: { arity: [0, -1], fn: (...args) => sprint(args) },
  println: { arity: [0, -1], fn: (...args) => `${args.map(printInner).join(" ")}\n` },
  printf: { arity: [1, -1], fn: (format, ...args) => sprintf(expectString(format), args) },
  json: { arity: [1, 1], fn: goJson },
  split: { arity: [2, 2], fn: (s, sep) => (expectString(sep) === "" ? [...expectString(s)] : expectString(s).split(expectString(sep))) },
  join: {
    arity: [2, 2],
    fn: (list, sep) => {
      if (!Array.isArray(list) || !list.every((e) => typeof e === "string")) {
        throw new TemplateFailure(`wrong type for value; expected []string; got ${kindOf(list)}`);
      }
      return list.join(expectString(sep));
    },
  },
  title: { arity: [1, 1], fn: (s) => title(expectString(s)) },
  lower: { arity: [1, 1], fn: (s) => expectString(s).toLowerCase() },
  upper: { arity: [1, 1], fn: (s) => expectString(s).toUpperCase() },
  pad: {
    arity: [3, 3],
    fn: (s, before, after) => {
      const text = expectString(s);
      return text === "" ? text : " ".repeat(expectInt(before)) + text + " ".repeat(expectInt(after));
    },
  },
  truncate: {
    arity: [2, 2],
    fn: (s, n) => {
      const text = expectString(s);
      const bytes = Buffer.from(text);
      return bytes.length < expectInt(n) ? text : bytes.subarray(0, expectInt(n)).toString();
    },
  },
};

/**
 * docker/cli's HeaderFunctions: when the header row is rendered, these
 * return the column name untouched (pad still pads, to keep alignment).
 */
export const HEADER_FUNCS: Record<string, FuncSpec> = {
  json: { arity: [1, 1], fn: (v) => v },
  split: { arity: [2, 2], fn: (v) => v },
  join: { arity: [2, 2], fn: (v) => v },
  title: { arity: [1, 1], fn: (v) => v },
  lower: { arity: [1, 1], fn: (v) => v },
  upper: { arity: [1, 1], fn: (v) => v },
  truncate: { arity: [2, 2], fn: (v) => v },
};
