import { ContainrError, toContainrError } from "../diag/errors.ts";
import { reportError } from "../diag/log.ts";
import { inspectContainer } from "../engine/inspect.ts";
import { defineCommand } from "./command.ts";
import { withEngine } from "./container/common.ts";
import { parseTemplate } from "./format/template.ts";

export default defineCommand({
  meta: { name: "inspect", description: "Return low-level information on containers" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    format: { type: "string", alias: "f", description: "Format output using a custom template: 'json' or a Go template", valueHint: "string" },
    type: { type: "string", description: "Only inspect objects of this type (container)", valueHint: "string" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    if (args.type !== undefined && args.type !== "container") {
      throw new ContainrError("USAGE", `"${args.type}" is not a valid value for --type`, { hint: "use `containr image inspect` for images" });
    }
    const template = args.format && args.format !== "json" ? parseTemplate(args.format.replaceAll("\\t", "\t").replaceAll("\\n", "\n")) : undefined;
    return withEngine(globals, (ctx) => {
      const found: unknown[] = [];
      let status = 0;
      for (const ref of [args.container, ...rest]) {
        try {
          found.push(inspectContainer(ctx, ctx.records.get(ref)));
        } catch (err) {
          const error = toContainrError(err);
          if (error.code !== "CONTAINER_NOT_FOUND") throw err;
          // Docker goes on with the other objects and fails at the end
          reportError(new ContainrError("CONTAINER_NOT_FOUND", `No such object: ${ref}`, { hint: error.hint }));
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
