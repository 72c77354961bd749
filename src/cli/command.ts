import type { CommandDef } from "citty";
import { ContainrError } from "../diag/errors.ts";

/**
 * A flag or positional of a command. The shape is citty's ArgDef (so citty's
 * renderUsage prints help for it) plus `multiple`, which citty 0.2 lacks:
 * repeated flags (-e, -v, --cap-add, ...) collect into an array.
 */
export interface FlagDef {
  type: "boolean" | "string" | "enum" | "positional";
  description: string;
  alias?: string | string[];
  valueHint?: string;
  default?: string | boolean;
  required?: boolean;
  options?: string[];
  multiple?: boolean;
}

export type FlagDefs = Record<string, FlagDef>;

type ValueOf<F extends FlagDef> = F["type"] extends "boolean"
  ? boolean
  : F["multiple"] extends true
    ? string[]
    : F extends { default: string } | { required: true }
      ? string
      : string | undefined;

export type ParsedFlags<T extends FlagDefs> = { [K in keyof T]: ValueOf<T[K]> };

export interface CommandContext<T extends FlagDefs> {
  args: ParsedFlags<T>;
  /** words after the positionals, verbatim (a container's command) */
  rest: string[];
  /** the flags of every enclosing group, by name (--root, --debug, ...) */
  globals: Record<string, unknown>;
}

/** A command: citty's CommandDef (meta, args, subCommands) with containr's argv rules. */
export interface Command<T extends FlagDefs = FlagDefs> {
  meta: { name: string; description: string; alias?: string[]; hidden?: boolean };
  args: T;
  /**
   * Docker's `run [OPTIONS] IMAGE [COMMAND] [ARG...]`: flags end at the last
   * declared positional, and everything after it is passed on verbatim, so
   * `run img ls -la` keeps `-la` for the container.
   */
  passThrough?: boolean;
  subCommands?: Record<string, () => Promise<Command<any>>>;
  /** runs on the way down to a subcommand, with this level's flags parsed */
  setup?: (args: ParsedFlags<T>, globals: Record<string, unknown>) => void | Promise<void>;
  /** returns the process exit status; undefined means 0 */
  run?: (ctx: CommandContext<T>) => Promise<number | void> | number | void;
}

export function defineCommand<const T extends FlagDefs>(def: Command<T>): Command<T> {
  return def;
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** citty's view of a command, for its usage renderer: flags shown as users type them (--log-level). */
function asCittyCommand(cmd: Command<any>): CommandDef {
  const args = Object.fromEntries(Object.entries(cmd.args).map(([name, def]) => [kebab(name), def]));
  return { meta: cmd.meta, args: args as CommandDef["args"], subCommands: cmd.subCommands as CommandDef["subCommands"] };
}

/** Help text for a command, from citty's renderer; plain text unless stdout is a terminal. */
export async function renderHelp(cmd: Command<any>): Promise<string> {
  const { renderUsage } = await import("citty");
  const text = await renderUsage(asCittyCommand(cmd));
  return process.stdout.isTTY ? text : text.replace(/\u001b\[[0-9;]*m/g, "");
}

export class HelpRequested extends Error {}

export interface ParseResult {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  rest: string[];
}

function usageError(message: string, command: string): ContainrError {
  return new ContainrError("USAGE", message, { hint: `see '${command} --help'` });
}

/**
 * Parse one command's argv. `stopAtPositionals` is the number of positionals
 * after which parsing stops (the rest is returned verbatim); Infinity lets
 * flags and positionals mix.
 */
export function parseFlags(argv: string[], defs: FlagDefs, stopAtPositionals: number, commandPath: string): ParseResult {
  const byName = new Map<string, [string, FlagDef]>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    byName.set(name, [name, def]);
    byName.set(kebab(name), [name, def]);
    for (const alias of [def.alias ?? []].flat()) byName.set(alias, [name, def]);
  }
  const helpIsFlag = !byName.has("h");

  const values: ParseResult["values"] = {};
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    if (def.multiple) values[name] = [];
    else if (def.default !== undefined) values[name] = def.default;
    else if (def.type === "boolean") values[name] = false;
  }
  const positionals: string[] = [];

  const set = (name: string, def: FlagDef, value: string | boolean, shown: string) => {
    if (def.type === "enum" && typeof value === "string" && def.options && !def.options.includes(value)) {
      throw usageError(`invalid value "${value}" for ${shown}: expected one of ${def.options.join(", ")}`, commandPath);
    }
    if (def.multiple) (values[name] as string[]).push(String(value));
    else values[name] = value;
  };

  let i = 0;
  for (; i < argv.length; i++) {
    if (positionals.length >= stopAtPositionals) break;
    const word = argv[i]!;
    if (word === "--") {
      i++;
      break;
    }
    if (word === "--help" || (word === "-h" && helpIsFlag)) throw new HelpRequested();
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const key = word.slice(2, eq === -1 ? undefined : eq);
      const inline = eq === -1 ? undefined : word.slice(eq + 1);
      let found = byName.get(key);
      let negated = false;
      if (!found && key.startsWith("no-")) {
        const positive = byName.get(key.slice(3));
        if (positive && positive[1].type === "boolean") {
          found = positive;
          negated = true;
        }
      }
      if (!found) throw usageError(`unknown flag: --${key}`, commandPath);
      const [name, def] = found;
      if (def.type === "boolean") {
        if (inline !== undefined && !["true", "false"].includes(inline)) {
          throw usageError(`invalid value "${inline}" for --${key}: expected true or false`, commandPath);
        }
        set(name, def, negated ? false : inline === undefined ? true : inline === "true", `--${key}`);
        continue;
      }
      if (inline !== undefined) set(name, def, inline, `--${key}`);
      else if (i + 1 < argv.length) set(name, def, argv[++i]!, `--${key}`);
      else throw usageError(`flag needs an argument: --${key}`, commandPath);
      continue;
    }
    if (word.startsWith("-") && word.length > 1) {
      // Clustered short flags as pflag reads them: -it, -dit, -p8080:80.
      for (let j = 1; j < word.length; j++) {
        const letter = word[j]!;
        if (letter === "h" && helpIsFlag) throw new HelpRequested();
        const found = byName.get(letter);
        if (!found) throw usageError(`unknown shorthand flag: '${letter}' in ${word}`, commandPath);
        const [name, def] = found;
        if (def.type === "boolean") {
          // pflag's -H=false: the rest of the word is the boolean's value
          if (word[j + 1] === "=") {
            const value = word.slice(j + 2);
            if (value !== "true" && value !== "false") {
              throw usageError(`invalid value "${value}" for -${letter}: expected true or false`, commandPath);
            }
            set(name, def, value === "true", `-${letter}`);
            break;
          }
          set(name, def, true, `-${letter}`);
          continue;
        }
        const attached = word.slice(j + 1);
        if (attached) set(name, def, attached.startsWith("=") ? attached.slice(1) : attached, `-${letter}`);
        else if (i + 1 < argv.length) set(name, def, argv[++i]!, `-${letter}`);
        else throw usageError(`flag needs an argument: '${letter}' in -${letter}`, commandPath);
        break;
      }
      continue;
    }
    positionals.push(word);
  }
  const rest = argv.slice(i);

  for (const [name, def] of Object.entries(defs)) {
    if (def.type !== "positional" && def.required && values[name] === undefined) {
      throw usageError(`required flag --${name} is missing`, commandPath);
    }
  }
  return { values, positionals, rest };
}

/** Positional names of a command, in declaration order. */
export function positionalNames(defs: FlagDefs): string[] {
  return Object.entries(defs)
    .filter(([, def]) => def.type === "positional")
    .map(([name]) => name);
}
