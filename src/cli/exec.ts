import { execInRunning } from "../engine/exec.ts";
import { parseKeyValueFile } from "../engine/run-options.ts";
import { defineCommand } from "./command.ts";
import { withEngine } from "./container/common.ts";

export default defineCommand({
  meta: { name: "exec", description: "Execute a command in a running container" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    detach: { type: "boolean", alias: "d", description: "Detached mode: run command in the background" },
    interactive: { type: "boolean", alias: "i", description: "Keep STDIN open even if not attached" },
    tty: { type: "boolean", alias: "t", description: "Allocate a pseudo-TTY" },
    env: { type: "string", alias: "e", description: "Set environment variables", valueHint: "list", multiple: true },
    envFile: { type: "string", description: "Read in a file of environment variables", valueHint: "list", multiple: true },
    user: { type: "string", alias: "u", description: "Username or UID (format: <name|uid>[:<group|gid>])", valueHint: "string" },
    workdir: { type: "string", alias: "w", description: "Working directory inside the container", valueHint: "string" },
    privileged: { type: "boolean", description: "Give extended privileges to the command" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    const fromHost = (name: string) => process.env[name];
    // a bare NAME takes its value from this environment, and is left out when unset there (docker/cli's ValidateEnv)
    const given = (args.env ?? []).map((e) => (e.includes("=") || fromHost(e) === undefined ? e : `${e}=${fromHost(e)}`));
    const env = [...(args.envFile ?? []).flatMap((file) => parseKeyValueFile(file, fromHost)), ...given].filter((e) => e.includes("="));
    return withEngine(globals, (ctx) =>
      execInRunning(ctx, ctx.records.get(args.container), {
        command: rest,
        interactive: args.interactive === true,
        tty: args.tty === true,
        detach: args.detach === true,
        env,
        user: args.user,
        workdir: args.workdir,
        privileged: args.privileged === true,
      }),
    );
  },
});
