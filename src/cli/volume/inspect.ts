import { toContainrError } from "../../diag/errors.ts";
import { reportError } from "../../diag/log.ts";
import { defineCommand } from "../command.ts";
import { parseTemplate } from "../format/template.ts";
import { withVolumeStore } from "./common.ts";

export default defineCommand({
  meta: { name: "inspect", description: "Display detailed information on one or more volumes" },
  args: {
    volume: { type: "positional", description: "VOLUME", required: true },
    format: { type: "string", alias: "f", description: "Format output using a custom template: 'json' or a Go template", valueHint: "string" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    const template = args.format && args.format !== "json" ? parseTemplate(args.format.replaceAll("\\t", "\t").replaceAll("\\n", "\n")) : undefined;
    return withVolumeStore(globals, (volumes) => {
      const found: unknown[] = [];
      let status = 0;
      for (const name of [args.volume, ...rest]) {
        try {
          found.push(volumes.inspect(volumes.get(name)));
        } catch (err) {
          const error = toContainrError(err);
          if (error.code !== "VOLUME_NOT_FOUND") throw err;
          // Docker goes on with the other volumes and fails at the end
          reportError(error);
          status = error.exit;
        }
      }
      if (template !== undefined) {
        for (const item of found) process.stdout.write(`${template.execute(item)}\n`);
      } else {
        process.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
      }
      return status;
    });
  },
});
