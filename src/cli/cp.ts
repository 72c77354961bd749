import { ContainrError } from "../diag/errors.ts";
import { copyFromContainer, copyToContainer } from "../engine/copy.ts";
import { defineCommand } from "./command.ts";
import { withEngine } from "./container/common.ts";
import { writeStdout } from "./output.ts";

/** CONTAINER:PATH, as docker/cli splits it (a path with a "/" before the first ":" is local). */
function splitContainerPath(arg: string): { container?: string; path: string } {
  const colon = arg.indexOf(":");
  if (colon <= 0 || arg.slice(0, colon).includes("/")) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export default defineCommand({
  meta: { name: "cp", description: "Copy files/folders between a container and the local filesystem (- for a tar stream)" },
  args: {
    source: { type: "positional", description: "CONTAINER:SRC_PATH or SRC_PATH|-", required: true },
    destination: { type: "positional", description: "DEST_PATH|- or CONTAINER:DEST_PATH", required: true },
    archive: { type: "boolean", alias: "a", description: "Archive mode (copy all uid/gid information)" },
    followLink: { type: "boolean", alias: "L", description: "Always follow symbol link in SRC_PATH" },
    quiet: { type: "boolean", alias: "q", description: "Suppress progress output during copy" },
  },
  run({ args, globals }) {
    const from = splitContainerPath(args.source);
    const to = splitContainerPath(args.destination);
    const options = { archive: args.archive, followLink: args.followLink };
    if (from.container !== undefined && to.container !== undefined) throw new ContainrError("USAGE", "copying between containers is not supported");
    if (from.container === undefined && to.container === undefined) throw new ContainrError("USAGE", "must specify at least one container source");
    if (from.path === "" || to.path === "") throw new ContainrError("USAGE", "filepath cannot be empty");
    return withEngine(globals, async (ctx) => {
      if (from.container !== undefined) {
        const record = ctx.records.get(from.container);
        const dest = to.path === "-" ? { write: (chunk: Uint8Array) => void writeStdout(chunk) } : to.path;
        await copyFromContainer(ctx, record, from.container, from.path, dest, options);
        return;
      }
      const container = to.container as string;
      const record = ctx.records.get(container);
      const source = from.path === "-" ? new Uint8Array(await Bun.stdin.arrayBuffer()) : from.path;
      await copyToContainer(ctx, record, container, source, to.path, options);
    });
  },
});
