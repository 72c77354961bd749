import { ContainrError } from "../diag/errors.ts";
import { formatReference, parseReference } from "../image/reference.ts";
import { defineCommand } from "./command.ts";
import { withStore } from "./image/common.ts";

export default defineCommand({
  meta: { name: "tag", description: "Give an image another name: SOURCE TARGET[:TAG]" },
  args: {
    source: { type: "positional", description: "SOURCE_IMAGE[:TAG] or image ID", required: true },
    target: { type: "positional", description: "TARGET_IMAGE[:TAG]", required: true },
  },
  async run({ args, globals }) {
    const target = parseReference(args.target);
    if (target.digest) throw new ContainrError("USAGE", `refusing to create a tag with a digest reference: ${args.target}`);
    await withStore(globals, (store) => store.tagImage(store.requireImage(args.source).id, formatReference(target)));
  },
});
