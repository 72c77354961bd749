import { log } from "../diag/log.ts";
import { createContainer } from "../engine/create.ts";
import { parseRunOptions } from "../engine/run-options.ts";
import { defineCommand } from "./command.ts";
import { createFlags, logConfigOf, runFlagsOf, withEngine } from "./container/common.ts";
import { progressDisplay } from "./image/common.ts";
import { writeStderr, writeStdout } from "./output.ts";

export default defineCommand({
  meta: { name: "create", description: "Create a new container" },
  args: createFlags,
  passThrough: true,
  run({ args, rest, globals }) {
    const flags = runFlagsOf(args);
    const options = parseRunOptions({ image: args.image, command: rest, flags: { ...flags, detach: true } });
    const logConfig = logConfigOf(args.logDriver, args.logOpt);
    return withEngine(globals, async (ctx) => {
      // through the logger, so that --log-format json and --log-level apply to them
      for (const warning of options.warnings) log.warn(warning);
      const record = await createContainer(ctx, {
        options,
        log: logConfig,
        securityOpt: flags.securityOpt,
        progress: progressDisplay(),
        notice: (line) => writeStderr(`${line}\n`),
      });
      writeStdout(`${record.id}\n`);
    });
  },
});
