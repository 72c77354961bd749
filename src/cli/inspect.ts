import { ContainrError } from "../diag/errors.ts";
import { inspectContainer } from "../engine/inspect.ts";
import { defineCommand } from "./command.ts";
import { templateFormatFlag } from "./format/flags.ts";
import { withEngine } from "./container/common.ts";
import { inspectTemplate, printInspected } from "./format/inspect.ts";

export default defineCommand({
  meta: { name: "inspect", description: "Return low-level information on containers" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    format: templateFormatFlag,
    type: { type: "string", description: "Only inspect objects of this type (container)", valueHint: "string" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    if (args.type !== undefined && args.type !== "container") {
      throw new ContainrError("USAGE", `"${args.type}" is not a valid value for --type`, { hint: "use `containr image inspect` for images" });
    }
    const template = inspectTemplate(args.format);
    return withEngine(globals, (ctx) =>
      printInspected(
        [args.container, ...rest],
        template,
        (ref) => inspectContainer(ctx, ctx.records.get(ref)),
        "CONTAINER_NOT_FOUND",
        // Docker names what it could not find an object, whatever its type
        (error, ref) => new ContainrError("CONTAINER_NOT_FOUND", `No such object: ${ref}`, { hint: error.hint }),
      ),
    );
  },
});
