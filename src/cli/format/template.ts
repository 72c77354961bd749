/**
 * Go's text/template, the subset Docker's --format and inspect -f use, with
 * docker/cli's functions, and docker/cli's formatter around it (formatRows:
 * the `table` prefix with a header row, `json`, literal \t and \n).
 *
 * Supported: {{.Field.Chain}}, {{.}}, {{$}}, $variables (:= and =),
 * pipelines, (sub pipelines).Field, string/raw-string/number/bool/nil
 * literals, {{if}}/{{else if}}/{{else}}/{{end}}, {{with}}, {{range}} (one or
 * two variables, {{break}}, {{continue}}, {{else}}), comments, {{- -}}
 * trimming; functions and or not eq ne lt le gt ge len index print printf
 * println, and Docker's json split join title lower upper pad truncate.
 *
 * Go tells a struct from a map, and the difference shows: a missing struct
 * field is an error, a missing map key prints "<no value>". Plain objects
 * are structs here; mark an object as a map with goMap() (a JS Map is one
 * too). Maps iterate and print in sorted key order, as Go's do. A function
 * stored on an object is a method: {{.Label "com.example"}} calls it.
 */
import { ContainrError } from "../../diag/errors.ts";
import { tabwrite } from "./table.ts";
import { formatFloat } from "./units.ts";

const goMaps = new WeakSet<object>();

/** Mark an object as a Go map (missing keys print "<no value>", keys sort). Returns it. */
export function goMap<T extends object>(value: T): T {
  goMaps.add(value);
  return value;
}

/** Go's zero reflect.Value: what a missing map key evaluates to. */
const NO_VALUE = Symbol("no value");

type Fn = (...args: unknown[]) => unknown;

function isMap(v: unknown): v is object {
  return v instanceof Map || (typeof v === "object" && v !== null && goMaps.has(v));
}

function mapEntries(v: object): [string, unknown][] {
  const entries: [string, unknown][] =
    v instanceof Map ? [...v.entries()].map(([k, val]) => [String(k), val]) : Object.entries(v).filter(([, val]) => typeof val !== "function");
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function mapGet(v: object, key: string): unknown {
  if (v instanceof Map) return v.has(key) ? v.get(key) : NO_VALUE;
  return Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : NO_VALUE;
}

/** Go's kind names, for error messages. */
function kindOf(v: unknown): string {
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
function truth(v: unknown): boolean {
  if (v === NO_VALUE || v === null || v === undefined) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "string" || Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  if (isMap(v)) return mapEntries(v).length > 0;
  return true;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : formatFloat(n, "g", -1);
}

/** fmt's %v, as text/template prints a value. */
function printValue(v: unknown): string {
  if (v === NO_VALUE) return "<no value>";
  return printInner(v);
}

function printInner(v: unknown): string {
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
function goJson(v: unknown): string {
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

// ---------------------------------------------------------------------------
// Errors

/** A failure inside a function or field evaluation; positioned by the executor. */
class TemplateFailure extends Error {}

/** Go's error location: the line, and for execution errors the byte column counted from 0. */
function location(source: string, offset: number, withColumn: boolean): string {
  const before = source.slice(0, offset);
  const line = before.split("\n").length;
  if (!withColumn) return `${line}`;
  return `${line}:${Buffer.byteLength(before.slice(before.lastIndexOf("\n") + 1))}`;
}

const HINT = "check the template: field names are case-sensitive ({{.Names}}, {{.State.Pid}}), and strings need double quotes";

/** Worded as docker/cli wraps Go's errors: "template parsing error: template: :1: ...". */
function templateError(source: string, offset: number, message: string, withColumn = false): ContainrError {
  return new ContainrError("USAGE", `template parsing error: template: :${location(source, offset, withColumn)}: ${message}`, { hint: HINT });
}

// ---------------------------------------------------------------------------
// Lexer

type TokenKind = "field" | "dot" | "var" | "ident" | "string" | "number" | "bool" | "nil" | "pipe" | "lparen" | "rparen" | "declare" | "assign" | "comma";

/** The one-character tokens of an action. */
const PUNCTUATION = new Map<string, TokenKind>([
  ["|", "pipe"],
  ["(", "lparen"],
  [")", "rparen"],
  [",", "comma"],
]);

interface Token {
  kind: TokenKind;
  text: string;
  pos: number;
  /** whitespace came before it (a field right after an operand chains onto it) */
  spaced: boolean;
  value?: unknown;
}

type Item = { kind: "text"; text: string } | { kind: "action"; tokens: Token[]; pos: number };

const SPACE = /[ \t\r\n]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;
const NUMBER = /^[+-]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/;

function unquote(source: string, body: string, pos: number): string {
  const simple: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", '"': '"', "'": "'" };
  return body.replace(/\\(?:([abfnrtv\\"'])|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{3})|(.))/g, (_, s, x, u, big, oct, bad) => {
    if (s !== undefined) return simple[s] as string;
    if (bad !== undefined) throw templateError(source, pos, `invalid syntax in string "${body}"`);
    return String.fromCodePoint(parseInt(x ?? u ?? big ?? oct, x || u || big ? 16 : 8));
  });
}

function numberValue(text: string): number {
  const negative = text.startsWith("-");
  const body = text.replace(/^[+-]/, "");
  const value = /^0[oO]/.test(body) ? parseInt(body.slice(2), 8) : /^0[bB]/.test(body) ? parseInt(body.slice(2), 2) : Number(body);
  return negative ? -value : value;
}

/** Split the source into text and action items, applying {{- and -}} trimming. */
function scan(source: string): Item[] {
  const items: Item[] = [];
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf("{{", i);
    if (open === -1) {
      items.push({ kind: "text", text: source.slice(i) });
      break;
    }
    let text = source.slice(i, open);
    let p = open + 2;
    if (source[p] === "-" && SPACE.test(source[p + 1] ?? "")) {
      text = text.replace(/[ \t\r\n]+$/, "");
      p += 2;
    }
    if (text !== "") items.push({ kind: "text", text });
    let trimAfter = false;
    const commentStart = source.slice(p).match(/^[ \t\r\n]*\/\*/);
    if (commentStart) {
      const close = source.indexOf("*/", p + commentStart[0].length);
      if (close === -1) throw templateError(source, open, "unclosed comment");
      const rest = source.slice(close + 2);
      const end = rest.match(/^(?:[ \t\r\n]+-)?}}/);
      if (!end) throw templateError(source, open, "comment ends before closing delimiter");
      trimAfter = end[0] !== "}}";
      p = close + 2 + end[0].length;
    } else {
      const tokens: Token[] = [];
      let spaced = false;
      for (;;) {
        if (p >= source.length) throw templateError(source, open, "unclosed action");
        const ch = source[p] as string;
        if (SPACE.test(ch)) {
          p++;
          spaced = true;
          continue;
        }
        if (source.startsWith("}}", p)) {
          p += 2;
          break;
        }
        if (spaced && source.startsWith("-}}", p)) {
          trimAfter = true;
          p += 3;
          break;
        }
        const start = p;
        const token = (kind: TokenKind, text: string, value?: unknown) => {
          tokens.push({ kind, text, pos: start, spaced, value });
          spaced = false;
        };
        const number = (ch === "." || ch === "+" || ch === "-" || /\d/.test(ch)) && /^[+-]?\.?\d/.test(source.slice(p, p + 3)) ? NUMBER.exec(source.slice(p)) : null;
        if (number) {
          p += number[0].length;
          if (IDENT_CHAR.test(source[p] ?? "") || source[p] === ".") throw templateError(source, start, `bad number syntax: "${source.slice(start, p + 1)}"`);
          token("number", number[0], numberValue(number[0]));
        } else if (PUNCTUATION.has(ch)) {
          p++;
          token(PUNCTUATION.get(ch)!, ch);
        } else if (source.startsWith(":=", p)) {
          p += 2;
          token("declare", ":=");
        } else if (ch === "=") {
          p++;
          token("assign", "=");
        } else if (ch === '"') {
          let q = p + 1;
          while (q < source.length && source[q] !== '"' && source[q] !== "\n") q += source[q] === "\\" ? 2 : 1;
          if (source[q] !== '"') throw templateError(source, start, "unterminated quoted string");
          const body = source.slice(p + 1, q);
          p = q + 1;
          token("string", source.slice(start, p), unquote(source, body, start));
        } else if (ch === "`") {
          const q = source.indexOf("`", p + 1);
          if (q === -1) throw templateError(source, start, "unterminated raw quoted string");
          p = q + 1;
          token("string", source.slice(start, p), source.slice(start + 1, q));
        } else if (ch === "$" || ch === "." || /[A-Za-z_]/.test(ch)) {
          p++;
          while (p < source.length && IDENT_CHAR.test(source[p] as string)) p++;
          const word = source.slice(start, p);
          if (ch === "$") token("var", word);
          else if (ch === ".") token(word === "." ? "dot" : "field", word);
          else if (word === "true" || word === "false") token("bool", word, word === "true");
          else if (word === "nil") token("nil", word);
          else token("ident", word);
        } else {
          throw templateError(source, start, `unrecognized character in action: ${JSON.stringify(ch)}`);
        }
      }
      items.push({ kind: "action", tokens, pos: open });
    }
    i = p;
    if (trimAfter) while (i < source.length && SPACE.test(source[i] as string)) i++;
  }
  return items;
}

// ---------------------------------------------------------------------------
// Parser

interface Span {
  pos: number;
  end: number;
  /** where Go reports an error in it: a chain is reported at its second link */
  at?: number;
}

type Arg =
  | (Span & { t: "field"; path: string[] })
  | (Span & { t: "dot" })
  | (Span & { t: "var"; name: string; path: string[] })
  | (Span & { t: "lit"; value: unknown })
  | (Span & { t: "nil" })
  | (Span & { t: "ident"; name: string })
  | (Span & { t: "pipe"; pipe: Pipe; path: string[] });

interface Cmd extends Span {
  args: Arg[];
}

interface Pipe extends Span {
  decl: string[];
  assign: boolean;
  cmds: Cmd[];
}

type Node =
  | { t: "text"; text: string }
  | { t: "action"; pipe: Pipe }
  | { t: "if" | "with"; pipe: Pipe; body: Node[]; alt: Node[] | null }
  | { t: "range"; pipe: Pipe; body: Node[]; alt: Node[] | null }
  | { t: "break" | "continue"; pos: number };

const BUILTINS = new Set(["and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "print", "printf", "println", "json", "split", "join", "title", "lower", "upper", "pad", "truncate"]);

class Parser {
  private idx = 0;
  private readonly vars: string[] = ["$"];
  private loops = 0;

  constructor(
    private readonly source: string,
    private readonly items: Item[],
  ) {}

  parse(): Node[] {
    const { nodes, stop } = this.list();
    if (stop) throw this.fail(stop.pos, `unexpected {{${stop.tokens[0]?.text}}}`);
    return nodes;
  }

  private fail(pos: number, message: string): ContainrError {
    return templateError(this.source, pos, message);
  }

  /** Nodes up to an {{end}} or {{else}} (returned as `stop`) or the end of input. */
  private list(): { nodes: Node[]; stop?: Item & { kind: "action" } } {
    const nodes: Node[] = [];
    while (this.idx < this.items.length) {
      const item = this.items[this.idx++] as Item;
      if (item.kind === "text") {
        nodes.push({ t: "text", text: item.text });
        continue;
      }
      const first = item.tokens[0];
      if (first === undefined) throw this.fail(item.pos, "missing value for command");
      const keyword = first.kind === "ident" ? first.text : "";
      switch (keyword) {
        case "end":
        case "else":
          return { nodes, stop: item };
        case "if":
        case "with":
          nodes.push(this.branch(keyword, item.tokens, 1));
          break;
        case "range":
          nodes.push(this.range(item.tokens));
          break;
        case "break":
        case "continue":
          if (this.loops === 0) throw this.fail(first.pos, `{{${keyword}}} outside {{range}}`);
          if (item.tokens.length > 1) throw this.fail(first.pos, `unexpected ${item.tokens[1]?.text} in {{${keyword}}}`);
          nodes.push({ t: keyword, pos: first.pos });
          break;
        case "define":
        case "template":
        case "block":
          throw this.fail(first.pos, `{{${keyword}}} is not supported in --format templates`);
        default:
          nodes.push({ t: "action", pipe: this.pipeline(item.tokens, 0, 1, item.pos) });
      }
    }
    return { nodes };
  }

  /** The body after an if/with/range header, an optional {{else}} part, and the {{end}}. */
  private blockBody(keyword: string, headerPos: number): { body: Node[]; alt: Node[] | null } {
    // Variables declared in the body end at {{else}}, as in Go.
    const mark = this.vars.length;
    const { nodes: body, stop } = this.list();
    this.vars.length = mark;
    if (!stop) throw this.fail(headerPos, `unexpected EOF: {{${keyword}}} without {{end}}`);
    const stopWord = stop.tokens[0]?.text;
    if (stopWord === "end") {
      if (stop.tokens.length > 1) throw this.fail(stop.pos, "unexpected tokens in {{end}}");
      return { body, alt: null };
    }
    // {{else if ...}} and {{else with ...}} chain: one {{end}} closes them all.
    const chained = stop.tokens[1];
    if (chained !== undefined) {
      if (keyword === "range" || (chained.text !== "if" && chained.text !== "with") || chained.kind !== "ident") {
        throw this.fail(stop.pos, `unexpected ${chained.text} after {{else}}`);
      }
      return { body, alt: [this.branch(chained.text as "if" | "with", stop.tokens, 2)] };
    }
    const { nodes: alt, stop: end } = this.list();
    if (!end || end.tokens[0]?.text !== "end" || end.tokens.length > 1) {
      throw this.fail(end?.pos ?? headerPos, `expected {{end}} to close {{${keyword}}}`);
    }
    return { body, alt };
  }

  private branch(keyword: "if" | "with", tokens: Token[], from: number): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(tokens, from, 1, tokens[from - 1]?.pos ?? 0);
    const { body, alt } = this.blockBody(keyword, pipe.pos);
    this.vars.length = mark;
    return { t: keyword, pipe, body, alt };
  }

  private range(tokens: Token[]): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(tokens, 1, 2, tokens[0]?.pos ?? 0);
    if (pipe.assign) throw this.fail(pipe.pos, "range can only declare variables (:=), not assign");
    const bodyMark = this.vars.length;
    this.loops++;
    const { nodes: body, stop } = this.list();
    this.loops--;
    this.vars.length = bodyMark;
    if (!stop) throw this.fail(pipe.pos, "unexpected EOF: {{range}} without {{end}}");
    let alt: Node[] | null = null;
    if (stop.tokens[0]?.text === "else") {
      if (stop.tokens.length > 1) throw this.fail(stop.pos, `unexpected ${stop.tokens[1]?.text} after {{else}}`);
      const rest = this.list();
      if (!rest.stop || rest.stop.tokens[0]?.text !== "end") throw this.fail(stop.pos, "expected {{end}} to close {{range}}");
      alt = rest.nodes;
    }
    this.vars.length = mark;
    return { t: "range", pipe, body, alt };
  }

  /** [decl :=|=] command ( | command )* from tokens[from], up to the end or a ")". */
  private pipeline(tokens: Token[], from: number, maxDecl: number, pos: number, inParens = false): Pipe & { next: number } {
    let i = from;
    const decl: string[] = [];
    let assign = false;
    const isDecl = (n: number) => {
      for (let k = 0; k < n; k++) {
        if (tokens[i + 2 * k]?.kind !== "var") return false;
        const sep = tokens[i + 2 * k + 1]?.kind;
        if (k < n - 1 ? sep !== "comma" : sep !== "declare" && sep !== "assign") return false;
      }
      return true;
    };
    const count = maxDecl >= 2 && isDecl(2) ? 2 : isDecl(1) ? 1 : 0;
    if (count > 0) {
      for (let k = 0; k < count; k++) decl.push((tokens[i + 2 * k] as Token).text);
      assign = tokens[i + 2 * count - 1]?.kind === "assign";
      i += 2 * count;
      for (const name of decl) {
        if (assign && !this.vars.includes(name)) throw this.fail(tokens[from]?.pos ?? pos, `undefined variable "${name}"`);
      }
    }
    const cmds: Cmd[] = [];
    for (;;) {
      const start = tokens[i]?.pos ?? pos;
      const args: Arg[] = [];
      while (i < tokens.length && tokens[i]?.kind !== "pipe" && tokens[i]?.kind !== "rparen") {
        const [arg, next] = this.operand(tokens, i);
        args.push(arg);
        i = next;
      }
      if (args.length === 0) throw this.fail(start, "missing value for command");
      cmds.push({ args, pos: start, end: (args[args.length - 1] as Arg).end });
      if (tokens[i]?.kind !== "pipe") break;
      i++;
    }
    if (!inParens && i < tokens.length) throw this.fail((tokens[i] as Token).pos, `unexpected "${tokens[i]?.text}" in command`);
    if (!assign) this.vars.push(...decl);
    return { decl, assign, cmds, pos: tokens[from]?.pos ?? pos, end: cmds[cmds.length - 1]?.end ?? pos, next: i };
  }

  /** One operand and the .Field chain glued to it. */
  private operand(tokens: Token[], i: number): [Arg, number] {
    const tok = tokens[i] as Token;
    let arg: Arg;
    let next = i + 1;
    const end = tok.pos + tok.text.length;
    switch (tok.kind) {
      case "field":
        arg = { t: "field", path: [tok.text.slice(1)], pos: tok.pos, end };
        break;
      case "dot":
        arg = { t: "dot", pos: tok.pos, end };
        break;
      case "var":
        if (!this.vars.includes(tok.text)) throw this.fail(tok.pos, `undefined variable "${tok.text}"`);
        arg = { t: "var", name: tok.text, path: [], pos: tok.pos, end };
        break;
      case "string":
      case "number":
      case "bool":
        arg = { t: "lit", value: tok.value, pos: tok.pos, end };
        break;
      case "nil":
        arg = { t: "nil", pos: tok.pos, end };
        break;
      case "ident":
        if (!BUILTINS.has(tok.text)) throw this.fail(tok.pos, `function "${tok.text}" not defined`);
        arg = { t: "ident", name: tok.text, pos: tok.pos, end };
        break;
      case "lparen": {
        const pipe = this.pipeline(tokens, i + 1, 1, tok.pos, true);
        const close = tokens[pipe.next];
        if (close?.kind !== "rparen") throw this.fail(tok.pos, "unclosed left paren");
        next = pipe.next + 1;
        arg = { t: "pipe", pipe, path: [], pos: tok.pos, end: close.pos + 1 };
        break;
      }
      default:
        throw this.fail(tok.pos, `unexpected "${tok.text}" in operand`);
    }
    while (tokens[next]?.kind === "field" && !tokens[next]?.spaced) {
      const field = tokens[next] as Token;
      if (arg.t === "field" || arg.t === "var" || arg.t === "pipe") arg.path.push(field.text.slice(1));
      else throw this.fail(field.pos, `unexpected ${field.text} after ${tok.text}`);
      arg.at ??= field.pos;
      arg.end = field.pos + field.text.length;
      next++;
    }
    return [arg, next];
  }
}

// ---------------------------------------------------------------------------
// Functions

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

interface FuncSpec {
  /** [min, max] arguments; max -1 for variadic */
  arity: [number, number];
  fn: Fn;
}

const FUNCS: Record<string, FuncSpec> = {
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
const HEADER_FUNCS: Record<string, FuncSpec> = {
  json: { arity: [1, 1], fn: (v) => v },
  split: { arity: [2, 2], fn: (v) => v },
  join: { arity: [2, 2], fn: (v) => v },
  title: { arity: [1, 1], fn: (v) => v },
  lower: { arity: [1, 1], fn: (v) => v },
  upper: { arity: [1, 1], fn: (v) => v },
  truncate: { arity: [2, 2], fn: (v) => v },
};

// ---------------------------------------------------------------------------
// Executor

class LoopSignal {
  constructor(readonly kind: "break" | "continue") {}
}

/** Where an evaluation failed, so the error can name it. */
class Positioned extends Error {
  constructor(
    readonly span: Span,
    readonly failure: string,
  ) {
    super(failure);
  }
}

class Executor {
  private out = "";
  private readonly vars: { name: string; value: unknown }[];

  constructor(
    private readonly source: string,
    root: unknown,
    private readonly funcs: Record<string, FuncSpec>,
  ) {
    this.vars = [{ name: "$", value: root }];
  }

  run(nodes: Node[], dot: unknown): string {
    try {
      this.walk(nodes, dot);
    } catch (err) {
      if (err instanceof Positioned) {
        const where = this.source.slice(err.span.pos, err.span.end);
        throw templateError(this.source, err.span.at ?? err.span.pos, `executing "" at <${where}>: ${err.failure}`, true);
      }
      throw err;
    }
    return this.out;
  }

  private walk(nodes: Node[], dot: unknown): void {
    for (const node of nodes) {
      switch (node.t) {
        case "text":
          this.out += node.text;
          break;
        case "action": {
          const value = this.pipe(node.pipe, dot);
          if (node.pipe.decl.length === 0) this.out += printValue(value);
          break;
        }
        case "if":
        case "with": {
          const mark = this.vars.length;
          const value = this.pipe(node.pipe, dot);
          if (truth(value)) this.walk(node.body, node.t === "with" ? value : dot);
          else if (node.alt) this.walk(node.alt, dot);
          this.vars.length = mark;
          break;
        }
        case "range":
          this.range(node, dot);
          break;
        case "break":
        case "continue":
          throw new LoopSignal(node.t);
      }
    }
  }

  private range(node: Extract<Node, { t: "range" }>, dot: unknown): void {
    const mark = this.vars.length;
    const value = this.commands(node.pipe, dot);
    let entries: [unknown, unknown][];
    if (value === NO_VALUE || value === null || value === undefined) entries = [];
    else if (Array.isArray(value)) entries = value.map((v, i) => [i, v]);
    else if (typeof value === "object" && isMap(value)) entries = mapEntries(value);
    else throw new Positioned(node.pipe, `range can't iterate over ${printValue(value)}`);
    for (const [key, element] of entries) {
      const [first, second] = node.pipe.decl;
      if (second !== undefined) this.vars.push({ name: first as string, value: key }, { name: second, value: element });
      else if (first !== undefined) this.vars.push({ name: first, value: element });
      try {
        this.walk(node.body, element);
      } catch (err) {
        if (!(err instanceof LoopSignal)) throw err;
        if (err.kind === "break") break;
      } finally {
        this.vars.length = mark;
      }
    }
    if (entries.length === 0 && node.alt) this.walk(node.alt, dot);
  }

  /** A pipeline's value, without its declarations. */
  private commands(pipe: Pipe, dot: unknown): unknown {
    let value: unknown;
    pipe.cmds.forEach((cmd, i) => {
      value = this.command(cmd, dot, i > 0, value);
    });
    return value;
  }

  private pipe(pipe: Pipe, dot: unknown): unknown {
    const value = this.commands(pipe, dot);
    for (const name of pipe.decl) {
      if (pipe.assign) {
        const slot = this.vars.findLast((v) => v.name === name);
        if (slot) slot.value = value;
      } else {
        this.vars.push({ name, value });
      }
    }
    return value;
  }

  private variable(name: string): unknown {
    return this.vars.findLast((v) => v.name === name)?.value;
  }

  private command(cmd: Cmd, dot: unknown, hasFinal: boolean, final: unknown): unknown {
    const [first, ...rest] = cmd.args as [Arg, ...Arg[]];
    const tail = () => [...rest.map((a) => this.arg(a, dot)), ...(hasFinal ? [final] : [])];
    const plain = (value: unknown) => {
      if (rest.length > 0 || hasFinal) throw new Positioned(first, `can't give argument to non-function ${this.source.slice(first.pos, first.end)}`);
      return value;
    };
    switch (first.t) {
      case "field":
        return this.fields(dot, first.path, first, tail);
      case "var":
        return first.path.length > 0 ? this.fields(this.variable(first.name), first.path, first, tail) : plain(this.variable(first.name));
      case "pipe": {
        const base = this.commands(first.pipe, dot);
        return first.path.length > 0 ? this.fields(base, first.path, first, tail) : plain(base);
      }
      case "ident":
        return this.call(first, rest, dot, hasFinal, final);
      case "dot":
        return plain(dot);
      case "lit":
        return plain(first.value);
      case "nil":
        throw new Positioned(first, "nil is not a command");
    }
  }

  private arg(arg: Arg, dot: unknown): unknown {
    switch (arg.t) {
      case "field":
        return this.fields(dot, arg.path, arg, () => []);
      case "var":
        return arg.path.length > 0 ? this.fields(this.variable(arg.name), arg.path, arg, () => []) : this.variable(arg.name);
      case "pipe": {
        const base = this.commands(arg.pipe, dot);
        return arg.path.length > 0 ? this.fields(base, arg.path, arg, () => []) : base;
      }
      case "ident":
        return this.call(arg, [], dot, false, undefined);
      case "dot":
        return dot;
      case "lit":
        return arg.value;
      case "nil":
        return null;
    }
  }

  /** A .A.B.C chain; only the last link gets the command's arguments (a method call). */
  private fields(receiver: unknown, path: string[], span: Span, args: () => unknown[]): unknown {
    let value = receiver;
    path.forEach((name, i) => {
      value = this.field(value, name, span, i === path.length - 1 ? args : () => []);
    });
    return value;
  }

  private field(receiver: unknown, name: string, span: Span, args: () => unknown[]): unknown {
    if (receiver === NO_VALUE) return NO_VALUE;
    if (receiver === null || receiver === undefined) throw new Positioned(span, `nil pointer evaluating .${name}`);
    if (typeof receiver !== "object" || Array.isArray(receiver)) {
      throw new Positioned(span, `can't evaluate field ${name} in type ${kindOf(receiver)}`);
    }
    const own = !(receiver instanceof Map) && Object.hasOwn(receiver, name) ? (receiver as Record<string, unknown>)[name] : undefined;
    if (typeof own === "function") {
      try {
        return (own as Fn).apply(receiver, args());
      } catch (err) {
        if (err instanceof Positioned) throw err;
        throw new Positioned(span, `error calling ${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const given = args();
    if (given.length > 0) throw new Positioned(span, `${name} is not a method but has arguments`);
    if (isMap(receiver)) return mapGet(receiver, name);
    if (!Object.hasOwn(receiver, name)) throw new Positioned(span, `can't evaluate field ${name} in type ${kindOf(receiver)}`);
    return own ?? null;
  }

  private call(ident: Arg & { t: "ident" }, rest: Arg[], dot: unknown, hasFinal: boolean, final: unknown): unknown {
    const name = ident.name;
    const count = rest.length + (hasFinal ? 1 : 0);
    // and/or evaluate their arguments lazily and return one of them, as Go's do.
    if (name === "and" || name === "or") {
      if (count === 0) throw new Positioned(ident, `wrong number of args for ${name}: want at least 1 got 0`);
      let value: unknown;
      for (let i = 0; i < count; i++) {
        value = i < rest.length ? this.arg(rest[i] as Arg, dot) : final;
        if (truth(value) === (name === "or")) return value;
      }
      return value;
    }
    const spec = (this.funcs[name] ?? FUNCS[name]) as FuncSpec;
    const [min, max] = spec.arity;
    if (count < min || (max >= 0 && count > max)) {
      const want = max === min ? `${min}` : max < 0 ? `at least ${min}` : `${min} to ${max}`;
      throw new Positioned(ident, `wrong number of args for ${name}: want ${want} got ${count}`);
    }
    const args = [...rest.map((a) => this.arg(a, dot)), ...(hasFinal ? [final] : [])];
    try {
      return spec.fn(...args);
    } catch (err) {
      if (err instanceof TemplateFailure) throw new Positioned(ident, `error calling ${name}: ${err.message}`);
      throw err;
    }
  }
}

// ---------------------------------------------------------------------------
// Public API

export interface Template {
  /** Render with `data` as dot. USAGE errors name the position that failed. */
  execute(data: unknown): string;
}

class ParsedTemplate implements Template {
  constructor(
    private readonly source: string,
    private readonly nodes: Node[],
  ) {}

  execute(data: unknown, funcs: Record<string, FuncSpec> = {}): string {
    return new Executor(this.source, data, funcs).run(this.nodes, data);
  }
}

/** Parse a template; syntax errors are USAGE errors naming line and column. */
export function parseTemplate(source: string): Template {
  const nodes = new Parser(source, scan(source)).parse();
  return new ParsedTemplate(source, nodes);
}

/**
 * docker/cli's SubHeaderContext: the column names, as a map, with the Label
 * method that names a {{.Label "com.example.key"}} column after the key's
 * last dotted part.
 */
function headerContext(headers: Record<string, string>): object {
  return goMap({
    ...headers,
    Label: (name: unknown) => (String(name).split(".").pop() as string).replace(/[-_]/g, " "),
  });
}

/**
 * docker/cli's formatter.Context.Write: render each row through `format`
 * and print it with a newline. A format starting with "table" gets a header
 * row (the template run over `headers`, the column names by field) and
 * columns aligned as `docker ps` aligns them; "json" is {{json .}}; literal
 * \t and \n in the format are a tab and a newline. Callers map an empty
 * format (and a bare "table") to their command's default table.
 */
export function formatRows(format: string, rows: readonly unknown[], headers: Record<string, string>): string {
  const isTable = format.startsWith("table");
  let source = isTable ? format.slice("table".length) : format === "json" ? "{{json .}}" : format;
  source = source.replace(/^ +| +$/g, "").replaceAll("\\t", "\t").replaceAll("\\n", "\n");
  const template = parseTemplate(source) as ParsedTemplate;
  const body = rows.map((row) => `${template.execute(row)}\n`).join("");
  if (!isTable) return body;
  const header = template.execute(headerContext(headers), HEADER_FUNCS);
  return tabwrite(`${header}\n${body}`);
}
