import { ContainrError, toContainrError } from "../diag/errors.ts";
import { reportError } from "../diag/log.ts";
import { startContainer } from "../engine/start.ts";
import { defineCommand } from "./command.ts";
import { streamContainer, withEngine, type StreamResult } from "./container/common.ts";
import { writeStdout } from "./output.ts";

export default defineCommand({
  meta: { name: "start", description: "Start one or more stopped containers" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    attach: { type: "boolean", alias: "a", description: "Attach STDOUT/STDERR and forward signals" },
    interactive: { type: "boolean", alias: "i", description: "Attach container's STDIN" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    const refs = [args.container, ...rest];
    if ((args.attach || args.interactive) && refs.length > 1) {
      throw new ContainrError("USAGE", "you cannot start and attach multiple containers at once");
    }
    return withEngine(globals, async (ctx) => {
      let failed = false;
      for (const ref of refs) {
        try {
          const record = ctx.records.get(ref);
          const openStdin = (record.config as { OpenStdin?: boolean }).OpenStdin === true;
          if (!args.attach && !args.interactive) {
            await startContainer(ctx, record, { stdin: openStdin });
            writeStdout(`${ref}\n`);
            continue;
          }
          let streaming: Promise<StreamResult> | undefined;
          await startContainer(ctx, record, {
            stdin: openStdin,
            beforeRelease: () =>
              new Promise<void>((connected, fail) => {
                const tty = (record.config as { Tty?: boolean }).Tty === true;
                streaming = streamContainer(ctx, record, { stdin: args.interactive && openStdin, stdinOnce: true, sigProxy: !tty, tty, connected });
                streaming.catch(fail);
              }),
          });
          if (streaming === undefined) throw new ContainrError("INVALID_STATE", `container ${ref} is already running`, { hint: `use \`containr attach ${ref}\`` });
          const result = await streaming;
          return result.exitCode ?? 0;
        } catch (err) {
          if (refs.length === 1) throw err;
          reportError(toContainrError(err));
          failed = true;
        }
      }
      if (failed) throw new ContainrError("INVALID_STATE", "Error: failed to start containers");
      return 0;
    });
  },
});
