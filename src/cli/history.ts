import type { ImageConfig } from "../image/manifest.ts";
import { shortId, type ImageRecord } from "../image/store.ts";
import { defineCommand } from "./command.ts";
import { tableFormatFlag } from "./format/flags.ts";
import { ellipsis } from "./format/table.ts";
import { dockerContext, formatRows } from "./format/template.ts";
import { humanSizeWithPrecision, rfc3339, unixAgo } from "./format/units.ts";
import { withStore } from "./image/common.ts";
import { writeStdout } from "./output.ts";

/** docker/cli's history formats (cli/command/image/formatter_history.go). */
const DEFAULT_FORMAT = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const NON_HUMAN_FORMAT = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const QUIET_FORMAT = "{{.ID}}";

export const HISTORY_HEADERS = {
  ID: "IMAGE",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  CreatedBy: "CREATED BY",
  Size: "SIZE",
  Comment: "COMMENT",
};

/** One line of `history`: docker/cli's historyContext fields, in its JSON's sorted order. */
export interface HistoryRow {
  Comment: string;
  CreatedAt: string;
  CreatedBy: string;
  CreatedSince: string;
  ID: string;
  Size: string;
}

/** What the API's image history says of one step. */
export interface HistoryEntry {
  /** the image ID for the newest step, "<missing>" for the steps below it */
  id: string;
  /** Unix seconds, 0 when the config does not say */
  created: number;
  createdBy: string;
  /** bytes the step's layer adds (0 for an empty layer) */
  size: number;
  comment: string;
}

/**
 * The image's history newest first, as the daemon lists it: the config's
 * history entries, each non-empty one paired with the next layer (one
 * entry per layer when the config has no history).
 */
export function historyEntries(image: ImageRecord, config: ImageConfig, layerSize: (diffId: string) => number): HistoryEntry[] {
  const history = config.history?.length ? config.history : image.layers.map(() => ({}) as NonNullable<ImageConfig["history"]>[number]);
  let layer = 0;
  const entries = history.map((h): HistoryEntry => {
    const size = h.empty_layer ? 0 : layerSize(image.layers[layer++]?.diffId ?? "");
    const ms = h.created ? Date.parse(h.created) : Number.NaN;
    return { id: "<missing>", created: Number.isFinite(ms) ? Math.trunc(ms / 1000) : 0, createdBy: h.created_by ?? "", size, comment: h.comment ?? "" };
  });
  entries.reverse();
  if (entries[0]) entries[0].id = image.id;
  return entries;
}

export interface HistoryRowOptions {
  /** -H: sizes and dates for people (default) or as numbers and RFC 3339 */
  human: boolean;
  noTrunc: boolean;
  now?: number;
}

export function historyRow(entry: HistoryEntry, options: HistoryRowOptions): HistoryRow {
  const createdAt = rfc3339(entry.created);
  const createdBy = entry.createdBy.replaceAll("\t", " ");
  return dockerContext({
    Comment: entry.comment,
    CreatedAt: createdAt,
    CreatedBy: options.noTrunc ? createdBy : ellipsis(createdBy, 45),
    CreatedSince: options.human ? unixAgo(entry.created, options.now) : createdAt,
    ID: entry.id === "<missing>" || options.noTrunc ? entry.id : shortId(entry.id),
    Size: options.human ? humanSizeWithPrecision(entry.size, 3) : String(entry.size),
  });
}

/** docker/cli's NewHistoryFormat. */
export function historyFormat(format: string | undefined, quiet: boolean, human: boolean): string {
  if (format === undefined || format === "" || format === "table") {
    if (quiet) return QUIET_FORMAT;
    return human ? DEFAULT_FORMAT : NON_HUMAN_FORMAT;
  }
  return format;
}

export default defineCommand({
  meta: { name: "history", description: "Show the history of an image, newest first" },
  args: {
    image: { type: "positional", description: "IMAGE", required: true },
    quiet: { type: "boolean", alias: "q", description: "Only show image IDs" },
    noTrunc: { type: "boolean", description: "Do not truncate the output" },
    human: { type: "boolean", alias: "H", description: "Sizes and dates in human-readable form", default: true },
    format: tableFormatFlag("{{.ID}} {{.CreatedBy}}"),
  },
  async run({ args, globals }) {
    const entries = await withStore(globals, (store) => {
      const image = store.requireImage(args.image);
      return historyEntries(image, store.readConfig(image), (diffId) => store.layerSize(diffId));
    });
    const options = { human: args.human !== false, noTrunc: args.noTrunc === true };
    const rows = entries.map((e) => historyRow(e, options));
    writeStdout(formatRows(historyFormat(args.format, args.quiet === true, options.human), rows, HISTORY_HEADERS));
  },
});
