import { ContainrError } from "../diag/errors.ts";
import { observe } from "../engine/container-state.ts";
import { defineCommand } from "./command.ts";
import { streamContainer, withEngine } from "./container/common.ts";

export default defineCommand({
  meta: { name: "attach", description: "Attach local standard input, output, and error streams to a running container" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    noStdin: { type: "boolean", description: "Do not attach STDIN" },
    sigProxy: { type: "boolean", description: "Proxy all received signals to the process", default: true },
  },
  run({ args, globals }) {
    return withEngine(globals, async (ctx) => {
      const record = ctx.records.get(args.container);
      const { state } = observe(ctx, record);
      if (state.Status !== "running") {
        throw new ContainrError("INVALID_STATE", "You cannot attach to a stopped container, start it first");
      }
      const openStdin = (record.config as { OpenStdin?: boolean }).OpenStdin === true;
      const tty = (record.config as { Tty?: boolean }).Tty === true;
      // with a terminal, ctrl-c and friends reach the container through the pty (docker proxies only without one)
      const result = await streamContainer(ctx, record, { stdin: openStdin && !args.noStdin, stdinOnce: false, sigProxy: args.sigProxy && !tty, tty });
      if (result.detached) return 0;
      return result.exitCode ?? 0;
    });
  },
});
