import { toContainrError, wrap } from "../diag/errors.ts";
import { log } from "../diag/log.ts";
import type { EngineContext } from "../engine/context.ts";
import { createContainer } from "../engine/create.ts";
import { containerExited, waitContainer } from "../engine/lifecycle.ts";
import type { ContainerRecord } from "../engine/records.ts";
import { parseRunOptions, proxiesSignals } from "../engine/run-options.ts";
import { startContainer } from "../engine/start.ts";
import { destroyContainer } from "../engine/teardown.ts";
import { defineCommand } from "./command.ts";
import { createFlags, logConfigOf, runFlagsOf, streamContainer, withEngine, type StreamResult } from "./container/common.ts";
import { progressDisplay } from "./image/common.ts";
import { writeStderr, writeStdout } from "./output.ts";

/** A container that could not start: removed with --rm, left "Created" otherwise (as Docker). */
function failedStart(ctx: EngineContext, record: ContainerRecord, err: unknown, autoRemove: boolean): never {
  if (autoRemove) {
    try {
      // --rm: "Automatically remove the container and its associated anonymous volumes"
      destroyContainer(ctx, record, { removeAnonymousVolumes: true });
    } catch (cleanup) {
      log.warn(`remove ${record.id}: ${toContainrError(cleanup).message}`);
    }
  }
  throw wrap(err, "start container");
}

export default defineCommand({
  meta: { name: "run", description: "Create and run a new container from an image" },
  args: {
    ...createFlags,
    detach: { type: "boolean", alias: "d", description: "Run container in background and print container ID" },
    sigProxy: { type: "boolean", description: "Proxy received signals to the process", default: true },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    const options = parseRunOptions({ image: args.image, command: rest, flags: { ...runFlagsOf(args), detach: args.detach, sigProxy: args.sigProxy } });
    const logConfig = logConfigOf(args.logDriver, args.logOpt);
    return withEngine(globals, async (ctx) => {
      // through the logger, so that --log-format json and --log-level apply to them
      for (const warning of options.warnings) log.warn(warning);
      const progress = progressDisplay();
      const record = await createContainer(ctx, {
        options,
        log: logConfig,
        securityOpt: runFlagsOf(args).securityOpt,
        progress,
        notice: (line) => writeStderr(`${line}\n`),
      });
      if (options.detach) {
        try {
          await startContainer(ctx, record, { stdin: options.interactive });
        } catch (err) {
          failedStart(ctx, record, err, options.autoRemove);
        }
        writeStdout(`${record.id}\n`);
        return 0;
      }
      // Attach between the monitor's start and the init's release, so no output is missed.
      let streaming: Promise<StreamResult> | undefined;
      try {
        await startContainer(ctx, record, {
          stdin: options.interactive,
          beforeRelease: () =>
            new Promise<void>((connected, failed) => {
              streaming = streamContainer(ctx, record, {
                stdin: options.interactive,
                stdinOnce: true,
                sigProxy: proxiesSignals(options),
                tty: options.tty,
                // --rm: the removal happens here, not in a third containr the monitor would start
                cleanUp: options.autoRemove ? () => containerExited(ctx, record.id) : undefined,
                connected,
              });
              streaming.catch(failed);
            }),
        });
      } catch (err) {
        failedStart(ctx, record, err, options.autoRemove);
      }
      const result = await (streaming as Promise<StreamResult>);
      if (result.detached) return 0;
      // no exit frame: the monitor died; the recorded state is all there is
      return result.exitCode ?? (await waitContainer(ctx, record));
    });
  },
});
