import { defineCommand } from "../command.ts";
import { templateFormatFlag } from "../format/flags.ts";
import { inspectTemplate, printInspected } from "../format/inspect.ts";
import { withVolumeStore } from "./common.ts";

export default defineCommand({
  meta: { name: "inspect", description: "Display detailed information on one or more volumes" },
  args: {
    volume: { type: "positional", description: "VOLUME", required: true },
    format: templateFormatFlag,
  },
  passThrough: true,
  run({ args, rest, globals }) {
    const template = inspectTemplate(args.format);
    return withVolumeStore(globals, (volumes) => printInspected([args.volume, ...rest], template, (name) => volumes.inspect(volumes.get(name)), "VOLUME_NOT_FOUND"));
  },
});
