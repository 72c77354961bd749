import { ContainrError } from "../diag/errors.ts";
import { containerLogs, parseLogTime, type LogsOptions } from "../engine/logs.ts";
import { defineCommand } from "./command.ts";
import { withEngine } from "./container/common.ts";
import { writeStderr, writeStdout } from "./output.ts";

export default defineCommand({
  meta: { name: "logs", description: "Fetch the logs of a container" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    follow: { type: "boolean", alias: "f", description: "Follow log output" },
    tail: { type: "string", alias: "n", description: 'Number of lines to show from the end of the logs (default "all")', valueHint: "string" },
    since: { type: "string", description: "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)", valueHint: "string" },
    until: { type: "string", description: "Show logs before a timestamp or relative time", valueHint: "string" },
    timestamps: { type: "boolean", alias: "t", description: "Show timestamps" },
    details: { type: "boolean", description: "Show extra details provided to logs" },
  },
  run({ args, globals }) {
    const options: LogsOptions = { follow: args.follow, timestamps: args.timestamps };
    if (args.tail !== undefined && args.tail !== "all") {
      if (!/^\d+$/.test(args.tail)) throw new ContainrError("USAGE", `invalid value for "tail": ${args.tail}`, { hint: "give a number of lines, or all" });
      options.tail = Number(args.tail);
    }
    if (args.since !== undefined) options.since = parseLogTime(args.since);
    if (args.until !== undefined) options.until = parseLogTime(args.until);
    return withEngine(globals, async (ctx) => {
      const record = ctx.records.get(args.container);
      await containerLogs(ctx, record, options, {
        stdout: (text) => writeStdout(text),
        stderr: (text) => writeStderr(text),
      });
    });
  },
});
