import { shortId } from "../image/store.ts";
import { defineCommand } from "./command.ts";
import { humanSize, openStore, requireJsonFormat, table, timeAgo } from "./image/common.ts";

export default defineCommand({
  meta: { name: "history", description: "Show the history of an image, newest first" },
  args: {
    image: { type: "positional", description: "IMAGE", required: true },
    quiet: { type: "boolean", alias: "q", description: "Only show image IDs" },
    noTrunc: { type: "boolean", description: "Do not truncate the output" },
    human: { type: "boolean", alias: "H", description: "Sizes and dates in human-readable form", default: true },
    format: { type: "string", description: "Output format: table or json (one object per line)", valueHint: "table|json" },
  },
  run({ args, globals }) {
    const format = requireJsonFormat(args.format);
    const store = openStore(globals);
    let entries: { id: string; created: string; createdBy: string; size: number; comment: string }[];
    try {
      const image = store.requireImage(args.image);
      const config = store.readConfig(image);
      // Non-empty history entries match the layers in order; an image without history gets one entry per layer.
      const history = config.history?.length ? config.history : image.layers.map(() => ({}) as NonNullable<typeof config.history>[number]);
      let layer = 0;
      entries = history.map((h) => {
        const size = h.empty_layer ? 0 : store.layerSize(image.layers[layer++]?.diffId ?? "");
        return { id: "<missing>", created: h.created ?? "", createdBy: h.created_by ?? "", size, comment: h.comment ?? "" };
      });
      entries.reverse();
      if (entries[0]) entries[0].id = image.id;
    } finally {
      store.close();
    }
    const id = (value: string) => (value === "<missing>" || args.noTrunc ? value : shortId(value));
    if (args.quiet) {
      process.stdout.write(`${entries.map((e) => id(e.id)).join("\n")}\n`);
      return;
    }
    if (format === "json") {
      for (const e of entries) {
        process.stdout.write(
          `${JSON.stringify({ ID: id(e.id), CreatedAt: e.created, CreatedSince: timeAgo(e.created), CreatedBy: e.createdBy, Size: humanSize(e.size), Comment: e.comment })}\n`,
        );
      }
      return;
    }
    const createdBy = (text: string) => (args.noTrunc || text.length <= 45 ? text : `${text.slice(0, 44)}…`);
    process.stdout.write(
      table(
        ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
        entries.map((e) => [id(e.id), args.human ? timeAgo(e.created) : e.created, createdBy(e.createdBy), args.human ? humanSize(e.size) : String(e.size), e.comment]),
      ),
    );
  },
});
