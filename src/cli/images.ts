import { familiarName, parseReference, repositoryName, type ImageReference } from "../image/reference.ts";
import { shortId, type ImageRecord } from "../image/store.ts";
import { defineCommand } from "./command.ts";
import { tableFormatFlag } from "./format/flags.ts";
import { dockerContext, formatRows } from "./format/template.ts";
import { goTimeString, humanSize, humanSizeWithPrecision, unixAgo } from "./format/units.ts";
import { withStore } from "./image/common.ts";
import { writeStdout } from "./output.ts";

/** docker/cli's image formats (cli/command/formatter/image.go). */
const DEFAULT_FORMAT = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const DEFAULT_FORMAT_WITH_DIGEST = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const QUIET_FORMAT = "{{.ID}}";

export const IMAGE_HEADERS = {
  ID: "IMAGE ID",
  Repository: "REPOSITORY",
  Tag: "TAG",
  Digest: "DIGEST",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  Size: "SIZE",
  Containers: "CONTAINERS",
  VirtualSize: "SIZE",
  SharedSize: "SHARED SIZE",
  UniqueSize: "UNIQUE SIZE",
};

/**
 * One line of `images`: the fields of docker/cli's imageContext, in the
 * sorted order its JSON has. Containers, SharedSize and UniqueSize are what
 * the daemon reports when it did not count them.
 */
export interface ImageRow {
  Containers: string;
  CreatedAt: string;
  CreatedSince: string;
  Digest: string;
  ID: string;
  Repository: string;
  SharedSize: string;
  Size: string;
  Tag: string;
  UniqueSize: string;
  VirtualSize: string;
}

export interface ImageRowOptions {
  /** --digests: a row per tag and digest; without it digests are not shown */
  digests: boolean;
  noTrunc: boolean;
  now?: number;
}

/** The API's Created: whole Unix seconds, 0 when the image does not say. */
function createdSeconds(image: ImageRecord): number {
  const ms = image.created ? Date.parse(image.created) : Number.NaN;
  return Number.isFinite(ms) ? Math.trunc(ms / 1000) : 0;
}

/**
 * The rows docker/cli's imageFormatTaggedAndDigest makes of one image: a row
 * per repository tag (times each of the repository's digests with
 * --digests), then rows for repositories known only by digest, or one
 * <none> row for a dangling image.
 */
export function imageRows(image: ImageRecord, options: ImageRowOptions): ImageRow[] {
  const created = createdSeconds(image);
  const row = (repository: string, tag: string, digest: string): ImageRow =>
    dockerContext({
      Containers: "N/A",
      CreatedAt: goTimeString(created),
      CreatedSince: unixAgo(created, options.now),
      Digest: digest,
      ID: options.noTrunc ? image.id : shortId(image.id),
      Repository: repository,
      SharedSize: "N/A",
      Size: humanSizeWithPrecision(image.size, 3),
      Tag: tag,
      UniqueSize: "N/A",
      VirtualSize: humanSize(image.size),
    });
  if (image.tags.length === 0 && image.repoDigests.length === 0) return [row("<none>", "<none>", "<none>")];

  const group = (names: string[], part: (ref: ImageReference) => string | undefined) => {
    const byRepo = new Map<string, string[]>();
    for (const name of names) {
      const ref = parseReference(name);
      const value = part(ref);
      if (value === undefined) continue;
      byRepo.set(familiarName(ref), [...(byRepo.get(familiarName(ref)) ?? []), value]);
    }
    return byRepo;
  };
  const tagsByRepo = group(image.tags, (ref) => ref.tag);
  const digestsByRepo = group(image.repoDigests, (ref) => ref.digest);
  const rows: ImageRow[] = [];
  for (const [repo, tags] of tagsByRepo) {
    const digests = options.digests ? (digestsByRepo.get(repo) ?? []) : [];
    digestsByRepo.delete(repo);
    for (const tag of tags) {
      if (digests.length === 0) rows.push(row(repo, tag, "<none>"));
      for (const digest of digests) rows.push(row(repo, tag, digest));
    }
  }
  for (const [repo, digests] of digestsByRepo) {
    if (options.digests) rows.push(...digests.map((digest) => row(repo, "<none>", digest)));
    else rows.push(row(repo, "<none>", ""));
  }
  return rows;
}

/** docker/cli's NewImageFormat: the default table (with digests, or IDs only), or the user's format with a digest column added under --digests. */
export function imageFormat(format: string | undefined, quiet: boolean, digests: boolean): string {
  if (format === undefined || format === "" || format === "table") {
    if (quiet) return QUIET_FORMAT;
    return digests ? DEFAULT_FORMAT_WITH_DIGEST : DEFAULT_FORMAT;
  }
  if (format.startsWith("table") && digests && !format.includes("{{.Digest}}")) return `${format}\t{{.Digest}}`;
  return format;
}

export default defineCommand({
  meta: { name: "images", description: "List images" },
  args: {
    repository: { type: "positional", description: "Only images of this REPOSITORY[:TAG]" },
    quiet: { type: "boolean", alias: "q", description: "Only show image IDs" },
    digests: { type: "boolean", description: "Show digests" },
    noTrunc: { type: "boolean", description: "Do not truncate image IDs" },
    format: tableFormatFlag("{{.Repository}}:{{.Tag}}"),
  },
  async run({ args, globals }) {
    let images = await withStore(globals, (store) => store.listImages());
    const filter = args.repository ? parseReference(args.repository, { defaultTag: false }) : undefined;
    if (filter?.digest) images = images.filter((image) => image.repoDigests.includes(`${repositoryName(filter)}@${filter.digest}`));
    const options = { digests: args.digests === true, noTrunc: args.noTrunc === true };
    let rows = images.flatMap((image) => imageRows(image, options));
    if (filter) rows = rows.filter((r) => r.Repository === familiarName(filter) && (filter.tag === undefined || r.Tag === filter.tag));
    writeStdout(formatRows(imageFormat(args.format, args.quiet === true, options.digests), rows, IMAGE_HEADERS));
  },
});
