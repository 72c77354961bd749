// Executor: walks the parsed nodes over the data and renders the output.

import { templateError, TemplateFailure } from "./errors.ts";
import { FUNCS, type FuncSpec } from "./funcs.ts";
import type { Arg, Cmd, Node, Pipe, Span } from "./parse.ts";
import { type Fn, isMap, kindOf, mapEntries, mapGet, NO_VALUE, printValue, truth } from "./values.ts";

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

export class Executor {
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
