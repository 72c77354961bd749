/**
 * `images` and `history` output through the shared formatters, checked
 * against what docker prints for the same data: columns, headers, sizes,
 * "N units ago", Go templates, `table` formats and JSON lines.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { historyEntries, historyFormat, historyRow, HISTORY_HEADERS } from "../../src/cli/history.ts";
import { imageFormat, imageRows, IMAGE_HEADERS } from "../../src/cli/images.ts";
import { ellipsis } from "../../src/cli/format/table.ts";
import { formatRows } from "../../src/cli/format/template.ts";
import { goTimeString, rfc3339 } from "../../src/cli/format/units.ts";
import type { ImageConfig } from "../../src/image/manifest.ts";
import type { ImageRecord } from "../../src/image/store.ts";

const savedTZ = process.env.TZ;
beforeAll(() => {
  process.env.TZ = "UTC";
});
afterAll(() => {
  process.env.TZ = savedTZ;
});

const ID = "sha256:4a1b7c3d9e8f00112233445566778899aabbccddeeff00112233445566778899";
const DIGEST = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const CREATED = "2024-05-01T12:00:00.123456789Z";
/** three days and a bit after CREATED */
const NOW = Date.parse("2024-05-04T13:30:00Z");

function image(overrides: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id: ID,
    manifestDigest: DIGEST,
    manifestMediaType: "application/vnd.oci.image.manifest.v1+json",
    platform: { os: "linux", architecture: "amd64" },
    layers: [],
    size: 5_576_337,
    created: CREATED,
    tags: ["docker.io/library/alpine:3.19", "docker.io/library/alpine:latest"],
    repoDigests: [`docker.io/library/alpine@${DIGEST}`],
    ...overrides,
  };
}

const plain = { digests: false, noTrunc: false, now: NOW };

describe("images", () => {
  test("the default table: docker's columns, 3-digit sizes, one row per tag", () => {
    const rows = imageRows(image(), plain);
    expect(formatRows(imageFormat(undefined, false, false), rows, IMAGE_HEADERS)).toBe(
      [
        "REPOSITORY   TAG       IMAGE ID       CREATED      SIZE",
        "alpine       3.19      4a1b7c3d9e8f   3 days ago   5.58MB",
        "alpine       latest    4a1b7c3d9e8f   3 days ago   5.58MB",
        "",
      ].join("\n"),
    );
  });

  test("--digests adds the DIGEST column and a row per digest; without it the digest is <none>", () => {
    const withDigests = imageRows(image({ tags: ["docker.io/library/alpine:latest"] }), { ...plain, digests: true });
    expect(formatRows(imageFormat("table", false, true), withDigests, IMAGE_HEADERS).split("\n")).toEqual([
      "REPOSITORY   TAG       DIGEST                                                                    IMAGE ID       CREATED      SIZE",
      `alpine       latest    ${DIGEST}   4a1b7c3d9e8f   3 days ago   5.58MB`,
      "",
    ]);
    expect(imageRows(image(), plain).map((r) => r.Digest)).toEqual(["<none>", "<none>"]);
    // A user table gets the digest column appended, once.
    expect(imageFormat("table {{.ID}}", false, true)).toBe("table {{.ID}}\t{{.Digest}}");
    expect(imageFormat("table {{.Digest}}", false, true)).toBe("table {{.Digest}}");
  });

  test("a Go template prints one line per row, no header, no alignment", () => {
    const rows = imageRows(image(), plain);
    expect(formatRows(imageFormat("{{.Repository}}:{{.Tag}}", false, false), rows, IMAGE_HEADERS)).toBe("alpine:3.19\nalpine:latest\n");
  });

  test("'table {{.ID}}\\t{{.Size}}': header from the column names, aligned as docker's tabwriter", () => {
    const rows = imageRows(image({ tags: ["docker.io/library/alpine:latest"] }), plain);
    expect(formatRows(imageFormat("table {{.ID}}\\t{{.Size}}", false, false), rows, IMAGE_HEADERS)).toBe("IMAGE ID       SIZE\n4a1b7c3d9e8f   5.58MB\n");
  });

  test("json: docker's fields, keys sorted, <none> escaped as docker's MarshalJSON does", () => {
    const [row] = imageRows(image({ tags: ["docker.io/library/alpine:latest"] }), plain);
    expect(formatRows("json", [row], IMAGE_HEADERS)).toBe(
      `{"Containers":"N/A","CreatedAt":"2024-05-01 12:00:00 +0000 UTC","CreatedSince":"3 days ago","Digest":"\\u003cnone\\u003e","ID":"4a1b7c3d9e8f","Repository":"alpine","SharedSize":"N/A","Size":"5.58MB","Tag":"latest","UniqueSize":"N/A","VirtualSize":"5.576MB"}\n`,
    );
    // The json template function on a field is Go's encoder without HTML escaping.
    expect(formatRows("{{json .Digest}}", [row], IMAGE_HEADERS)).toBe('"<none>"\n');
  });

  test("-q is {{.ID}} per row (an ID per tag, as docker prints it); --no-trunc gives the full ID", () => {
    expect(formatRows(imageFormat(undefined, true, false), imageRows(image(), plain), IMAGE_HEADERS)).toBe("4a1b7c3d9e8f\n4a1b7c3d9e8f\n");
    expect(imageRows(image(), { ...plain, noTrunc: true })[0]!.ID).toBe(ID);
    // A format of the user's own wins over -q, as in docker.
    expect(imageFormat("{{.Tag}}", true, false)).toBe("{{.Tag}}");
  });

  test("dangling and digest-only images", () => {
    expect(imageRows(image({ tags: [], repoDigests: [] }), plain).map((r) => [r.Repository, r.Tag, r.Digest])).toEqual([["<none>", "<none>", "<none>"]]);
    const byDigest = image({ tags: [], repoDigests: [`127.0.0.1:5000/app@${DIGEST}`] });
    expect(imageRows(byDigest, plain).map((r) => [r.Repository, r.Tag, r.Digest])).toEqual([["127.0.0.1:5000/app", "<none>", ""]]);
    expect(imageRows(byDigest, { ...plain, digests: true }).map((r) => [r.Repository, r.Tag, r.Digest])).toEqual([["127.0.0.1:5000/app", "<none>", DIGEST]]);
  });

  test("an empty list prints the header only for tables, nothing otherwise", () => {
    expect(formatRows(imageFormat(undefined, false, false), [], IMAGE_HEADERS)).toBe("REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n");
    expect(formatRows("json", [], IMAGE_HEADERS)).toBe("");
  });
});

describe("history", () => {
  const config = {
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: ["sha256:aa", "sha256:bb"] },
    history: [
      { created: "2024-05-01T12:00:00Z", created_by: "/bin/sh -c #(nop) ADD file:abc in / " },
      { created: "2024-05-01T12:00:01Z", created_by: '/bin/sh -c #(nop)  CMD ["/bin/sh"]', empty_layer: true },
      { created: "2024-05-02T12:00:00Z", created_by: "RUN\t/bin/sh -c apk add --no-cache curl ca-certificates && rm -rf /var/cache/apk/*", comment: "buildkit.dockerfile.v0" },
    ],
  } as unknown as ImageConfig;
  const record = image({
    layers: [
      { diffId: "sha256:aa", digest: "sha256:a1", mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 1 },
      { diffId: "sha256:bb", digest: "sha256:b1", mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 1 },
    ],
  });
  const sizes: Record<string, number> = { "sha256:aa": 7_376_221, "sha256:bb": 2_100 };
  const entries = historyEntries(record, config, (diffId) => sizes[diffId] ?? 0);

  test("newest first; the image ID on the newest step, <missing> below; layers paired with non-empty steps", () => {
    expect(entries.map((e) => [e.id, e.size])).toEqual([
      [ID, 2_100],
      ["<missing>", 0],
      ["<missing>", 7_376_221],
    ]);
  });

  test("the default table: CREATED BY cut to 45 columns with …, tabs as spaces", () => {
    const rows = entries.map((e) => historyRow(e, { human: true, noTrunc: false, now: NOW }));
    expect(formatRows(historyFormat(undefined, false, true), rows, HISTORY_HEADERS)).toBe(
      [
        "IMAGE          CREATED      CREATED BY                                      SIZE      COMMENT",
        "4a1b7c3d9e8f   2 days ago   RUN /bin/sh -c apk add --no-cache curl ca-ce…   2.1kB     buildkit.dockerfile.v0",
        '<missing>      3 days ago   /bin/sh -c #(nop)  CMD ["/bin/sh"]              0B        ',
        "<missing>      3 days ago   /bin/sh -c #(nop) ADD file:abc in /             7.38MB    ",
        "",
      ].join("\n"),
    );
  });

  test("-H=false: RFC 3339 dates and sizes in bytes; --no-trunc keeps the full text and ID", () => {
    const row = historyRow(entries[0]!, { human: false, noTrunc: true, now: NOW });
    expect(row).toMatchObject({ ID, CreatedAt: "2024-05-02T12:00:00Z", CreatedSince: "2024-05-02T12:00:00Z", Size: "2100" });
    expect(row.CreatedBy).toBe("RUN /bin/sh -c apk add --no-cache curl ca-certificates && rm -rf /var/cache/apk/*");
    expect(historyFormat(undefined, false, false)).toBe("table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}");
  });

  test("json and Go templates", () => {
    const rows = entries.map((e) => historyRow(e, { human: true, noTrunc: false, now: NOW }));
    expect(formatRows("json", [rows[1]], HISTORY_HEADERS)).toBe(
      '{"Comment":"","CreatedAt":"2024-05-01T12:00:01Z","CreatedBy":"/bin/sh -c #(nop)  CMD [\\"/bin/sh\\"]","CreatedSince":"3 days ago","ID":"\\u003cmissing\\u003e","Size":"0B"}\n',
    );
    expect(formatRows("{{.ID}} {{.Size}}", rows, HISTORY_HEADERS)).toBe("4a1b7c3d9e8f 2.1kB\n<missing> 0B\n<missing> 7.38MB\n");
    expect(formatRows("table {{.CreatedBy}}", rows.slice(0, 1), HISTORY_HEADERS)).toBe("CREATED BY\nRUN /bin/sh -c apk add --no-cache curl ca-ce…\n");
  });
});

describe("Go time and text helpers", () => {
  test("time.Time.String() and RFC 3339 in the local zone", () => {
    expect(goTimeString(1714564800)).toBe("2024-05-01 12:00:00 +0000 UTC");
    expect(rfc3339(1714564800)).toBe("2024-05-01T12:00:00Z");
    try {
      process.env.TZ = "America/New_York";
      expect(goTimeString(1714564800)).toBe("2024-05-01 08:00:00 -0400 EDT");
      expect(rfc3339(1714564800)).toBe("2024-05-01T08:00:00-04:00");
      // The tz database has no letters for Dubai: Go prints the offset.
      process.env.TZ = "Asia/Dubai";
      expect(goTimeString(1714564800)).toBe("2024-05-01 16:00:00 +0400 +04");
    } finally {
      process.env.TZ = "UTC";
    }
  });

  test("ellipsis counts terminal columns", () => {
    expect(ellipsis("abcdef", 6)).toBe("abcdef");
    expect(ellipsis("abcdefg", 6)).toBe("abcde…");
    expect(ellipsis("日本語テキスト", 6)).toBe("日本…");
  });
});
