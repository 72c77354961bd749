// Lexer: splits the source into text and action tokens.

import { templateError } from "./errors.ts";

type TokenKind = "field" | "dot" | "var" | "ident" | "string" | "number" | "bool" | "nil" | "pipe" | "lparen" | "rparen" | "declare" | "assign" | "comma";

/** The one-character tokens of an action. */
const PUNCTUATION = new Map<string, TokenKind>([
  ["|", "pipe"],
  ["(", "lparen"],
  [")", "rparen"],
  [",", "comma"],
]);

export interface Token {
  kind: TokenKind;
  text: string;
  pos: number;
  /** whitespace came before it (a field right after an operand chains onto it) */
  spaced: boolean;
  value?: unknown;
}

export type Item = { kind: "text"; text: string } | { kind: "action"; tokens: Token[]; pos: number };

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
export function scan(source: string): Item[] {
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
