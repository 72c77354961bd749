// Parser: turns lexed items into the node tree.

import type { ContainrError } from "../../../diag/errors.ts";
import { templateError } from "./errors.ts";
import type { Item, Token } from "./lex.ts";

export interface Span {
  pos: number;
  end: number;
  /** where Go reports an error in it: a chain is reported at its second link */
  at?: number;
}

export type Arg =
  | (Span & { t: "field"; path: string[] })
  | (Span & { t: "dot" })
  | (Span & { t: "var"; name: string; path: string[] })
  | (Span & { t: "lit"; value: unknown })
  | (Span & { t: "nil" })
  | (Span & { t: "ident"; name: string })
  | (Span & { t: "pipe"; pipe: Pipe; path: string[] });

export interface Cmd extends Span {
  args: Arg[];
}

export interface Pipe extends Span {
  decl: string[];
  assign: boolean;
  cmds: Cmd[];
}

export type Node =
  | { t: "text"; text: string }
  | { t: "action"; pipe: Pipe }
  | { t: "if" | "with"; pipe: Pipe; body: Node[]; alt: Node[] | null }
  | { t: "range"; pipe: Pipe; body: Node[]; alt: Node[] | null }
  | { t: "break" | "continue"; pos: number };

const BUILTINS = new Set(["and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "print", "printf", "println", "json", "split", "join", "title", "lower", "upper", "pad", "truncate"]);

export class Parser {
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
