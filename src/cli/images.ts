import { familiarName, parseReference, repositoryName } from "../image/reference.ts";
import { shortId, type ImageRecord } from "../image/store.ts";
import { defineCommand } from "./command.ts";
import { humanSize, openStore, requireJsonFormat, table, timeAgo } from "./image/common.ts";

interface ImageRow {
  repository: string;
  tag: string;
  digest: string;
  image: ImageRecord;
}

/** One row per tag, as Docker lists them; an untagged image is one <none> row. */
function rowsOf(image: ImageRecord): ImageRow[] {
  const digestOf = (repo: string) => image.repoDigests.map((d) => parseReference(d)).find((r) => repositoryName(r) === repo)?.digest ?? "<none>";
  const rows: ImageRow[] = image.tags.map((t) => {
    const ref = parseReference(t);
    return { repository: familiarName(ref), tag: ref.tag ?? "<none>", digest: digestOf(repositoryName(ref)), image };
  });
  for (const d of image.repoDigests) {
    const ref = parseReference(d);
    if (!image.tags.some((t) => repositoryName(parseReference(t)) === repositoryName(ref))) {
      rows.push({ repository: familiarName(ref), tag: "<none>", digest: ref.digest!, image });
    }
  }
  if (rows.length === 0) rows.push({ repository: "<none>", tag: "<none>", digest: "<none>", image });
  return rows;
}

export default defineCommand({
  meta: { name: "images", description: "List images" },
  args: {
    repository: { type: "positional", description: "Only images of this REPOSITORY[:TAG]" },
    quiet: { type: "boolean", alias: "q", description: "Only show image IDs" },
    digests: { type: "boolean", description: "Show digests" },
    noTrunc: { type: "boolean", description: "Do not truncate image IDs" },
    format: { type: "string", description: "Output format: table or json (one object per line)", valueHint: "table|json" },
  },
  run({ args, globals }) {
    const format = requireJsonFormat(args.format);
    const store = openStore(globals);
    let rows: ImageRow[];
    try {
      rows = store.listImages().flatMap(rowsOf);
    } finally {
      store.close();
    }
    if (args.repository) {
      const filter = parseReference(args.repository, { defaultTag: false });
      const repo = familiarName(filter);
      rows = rows.filter((r) => r.repository === repo && (filter.tag === undefined || r.tag === filter.tag));
      if (filter.digest) rows = rows.filter((r) => r.digest === filter.digest);
    }
    const id = (image: ImageRecord) => (args.noTrunc ? image.id : shortId(image.id));
    if (args.quiet) {
      const ids = [...new Set(rows.map((r) => id(r.image)))];
      if (ids.length > 0) process.stdout.write(`${ids.join("\n")}\n`);
      return;
    }
    if (format === "json") {
      for (const r of rows) {
        process.stdout.write(
          `${JSON.stringify({
            Containers: "N/A",
            CreatedAt: r.image.created ?? "",
            CreatedSince: timeAgo(r.image.created),
            Digest: r.digest,
            ID: id(r.image),
            Repository: r.repository,
            SharedSize: "N/A",
            Size: humanSize(r.image.size),
            Tag: r.tag,
            UniqueSize: "N/A",
            VirtualSize: humanSize(r.image.size),
          })}\n`,
        );
      }
      return;
    }
    const header = args.digests ? ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"] : ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"];
    const cells = rows.map((r) => {
      const base = [r.repository, r.tag];
      if (args.digests) base.push(r.digest);
      return [...base, id(r.image), timeAgo(r.image.created), humanSize(r.image.size)];
    });
    process.stdout.write(table(header, cells));
  },
});
