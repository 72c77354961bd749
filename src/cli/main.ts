import { ContainrError, exitStatusFor, toContainrError } from "../diag/errors.ts";
import { log, reportError } from "../diag/log.ts";
import { HelpRequested, renderHelp, parseFlags, positionalNames, type Command } from "./command.ts";
import { rootCommand } from "./root.ts";
import { writeStdout } from "./output.ts";

/** The invocation name that makes the binary behave as `containr oci` (for Podman's --runtime, containerd's BinaryName). */
export const OCI_LINK_NAME = "containr-oci";

/**
 * Our own main (not citty's runMain, see DESIGN.md): walk the command tree
 * level by level, parse only each level's own flags, hand a container's
 * command through verbatim, and map every error to an exit status.
 */
export async function runCli(argv: string[]): Promise<number> {
  let style: "engine" | "oci" = argv[0] === "oci" ? "oci" : "engine";
  try {
    const globals: Record<string, unknown> = {};
    let cmd: Command<any> = rootCommand;
    let path = "containr";
    let words = argv;
    for (;;) {
      if (cmd.subCommands) {
        let parsed;
        try {
          parsed = parseFlags(words, cmd.args, 1, path);
        } catch (err) {
          if (err instanceof HelpRequested) writeStdout(`${await renderHelp(cmd)}\n`);
          throw err;
        }
        // A group's flags replace same-named ones of the groups above it, set
        // or not: `containr oci --root` is the runtime's state root, never the
        // engine's data root.
        for (const name of Object.keys(cmd.args)) globals[name] = parsed.values[name];
        await cmd.setup?.(parsed.values, globals);
        const name = parsed.positionals[0];
        if (name === undefined) {
          writeStdout(`${await renderHelp(cmd)}\n`);
          return 0;
        }
        const sub = await findSubCommand(cmd, name);
        if (!sub) {
          throw new ContainrError("USAGE", `unknown command "${name}" for "${path}"`, {
            hint: `run '${path} --help' for the list of commands`,
          });
        }
        if (sub.meta.name === "oci") style = "oci";
        cmd = sub;
        path = `${path} ${sub.meta.name}`;
        words = parsed.rest;
        continue;
      }
      return await runLeaf(cmd, path, words, globals);
    }
  } catch (err) {
    if (err instanceof HelpRequested) return 0;
    const error = toContainrError(err);
    if (error.code === "INTERNAL") log.debug(err instanceof Error ? (err.stack ?? err.message) : String(err));
    reportError(error);
    return exitStatusFor(error, style);
  }
}

async function findSubCommand(cmd: Command<any>, name: string): Promise<Command<any> | undefined> {
  const loaders = cmd.subCommands ?? {};
  if (Object.hasOwn(loaders, name)) return loaders[name]!();
  for (const load of Object.values(loaders)) {
    const sub = await load();
    if (sub.meta.alias?.includes(name)) return sub;
  }
  return undefined;
}

async function runLeaf(cmd: Command<any>, path: string, words: string[], globals: Record<string, unknown>): Promise<number> {
  const names = positionalNames(cmd.args);
  let parsed;
  try {
    parsed = parseFlags(words, cmd.args, cmd.passThrough ? names.length : Infinity, path);
  } catch (err) {
    if (err instanceof HelpRequested) {
      writeStdout(`${await renderHelp(cmd)}\n`);
    }
    throw err;
  }
  const args: Record<string, unknown> = { ...parsed.values };
  names.forEach((name, index) => {
    args[name] = parsed.positionals[index];
  });
  for (const name of names) {
    if (cmd.args[name]!.required && args[name] === undefined) {
      throw new ContainrError("USAGE", `"${path}" requires the argument <${name}>`, { hint: `see '${path} --help'` });
    }
  }
  const extra = parsed.positionals.slice(names.length);
  if (extra.length > 0 && !cmd.passThrough) {
    throw new ContainrError("USAGE", `"${path}" takes ${names.length} argument(s), got ${parsed.positionals.length}`, {
      hint: `see '${path} --help'`,
    });
  }
  log.debug(`${path}: running`);
  const status = await cmd.run?.({ args: args as never, rest: [...extra, ...parsed.rest], globals });
  return status ?? 0;
}
