import { describe, expect, test } from "bun:test";
import { DOCKER_TABLE, formatTable, tabwrite, type TabwriterOptions } from "../../src/cli/format/table.ts";

// Go's text/tabwriter tests (the cases without flags): minwidth, padding, padchar, input, output.
const GO_CASES: [string, number, number, string, string, string][] = [
  ["1a", 8, 1, ".", "", ""],
  ["2", 8, 1, ".", "\n\n\n", "\n\n\n"],
  ["3", 8, 1, ".", "a\nb\nc", "a\nb\nc"],
  ["4a", 8, 1, ".", "\t", ""],
  ["5", 8, 1, ".", "*\t*", "*.......*"],
  ["5b", 8, 1, ".", "*\t*\n", "*.......*\n"],
  ["5c", 8, 1, ".", "*\t*\t", "*.......*"],
  ["6", 8, 1, ".", "\t\n", "........\n"],
  ["7a", 8, 1, ".", "a) foo", "a) foo"],
  ["7b", 8, 1, " ", "b) foo\tbar", "b) foo  bar"],
  ["7c", 8, 1, ".", "c) foo\tbar\t", "c) foo..bar"],
  ["7d", 8, 1, ".", "d) foo\tbar\n", "d) foo..bar\n"],
  ["7e", 8, 1, ".", "e) foo\tbar\t\n", "e) foo..bar.....\n"],
  ["8", 8, 1, "*", "Hello, world!\n", "Hello, world!\n"],
  ["9a", 1, 0, ".", "1\t2\t3\t4\n11\t222\t3333\t44444\n", "1.2..3...4\n11222333344444\n"],
  ["10a", 5, 0, ".", "1\t2\t3\t4\n", "1....2....3....4\n"],
  ["10b", 5, 0, ".", "1\t2\t3\t4\t\n", "1....2....3....4....\n"],
  [
    "11",
    8,
    1,
    ".",
    "本\tb\tc\naa\t本本本\tcccc\tddddd\naaa\tbbbb\n",
    "本......b.......c\naa......本本本..cccc....ddddd\naaa.....bbbb\n",
  ],
  ["12b", 2, 0, " ", "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n", "a  b  c\naa bbbcccc\naaabbbb\n"],
  ["12c", 8, 1, "_", "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n", "a_______b_______c\naa______bbb_____cccc\naaa_____bbbb\n"],
  [
    "13a",
    4,
    1,
    "-",
    "4444\t日本語\t22\t1\t333\n999999999\t22\n7\t22\n\t\t\t88888888\n\n666666\t666666\t666666\t4444\n1\t1\t999999999\t0000000000\n",
    "4444------日本語-22--1---333\n999999999-22\n7---------22\n------------------88888888\n\n666666-666666-666666----4444\n1------1------999999999-0000000000\n",
  ],
  [
    "13b",
    4,
    3,
    ".",
    "4444\t333\t22\t1\t333\n999999999\t22\n7\t22\n\t\t\t88888888\n\n666666\t666666\t666666\t4444\n1\t1\t999999999\t0000000000\n",
    "4444........333...22...1...333\n999999999...22\n7...........22\n....................88888888\n\n666666...666666...666666......4444\n1........1........999999999...0000000000\n",
  ],
  ["15a", 4, 0, ".", "a\t\tb", "a.......b"],
];

describe("tabwrite matches Go's text/tabwriter", () => {
  for (const [name, minWidth, padding, padChar, input, expected] of GO_CASES) {
    test(`Go case ${name}`, () => {
      const options: TabwriterOptions = { minWidth, padding, padChar };
      expect(tabwrite(input, options)).toBe(expected);
    });
  }
});

describe("Docker's tables", () => {
  test("docker ps layout: minimum width 10, padding 3, last column unpadded", () => {
    const rows = [
      ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
      ["4bed76d3ad42", "nginx:alpine", '"/docker-entrypoint.…"', "1 second ago", "Up Less than a second", "", "test"],
      ["b0318bca5aef", "busybox:latest", '"sh"', "4 seconds ago", "Exited (0) 3 seconds ago", "", "ecstatic_beaver"],
      ["c0318bca5aef", "3fbc63216742", '"echo 12345678901234…"', "2 hours ago", "Created", "", "x"],
    ];
    expect(formatTable(rows)).toBe(
      "CONTAINER ID   IMAGE            COMMAND                  CREATED         STATUS                     PORTS     NAMES\n" +
        '4bed76d3ad42   nginx:alpine     "/docker-entrypoint.…"   1 second ago    Up Less than a second                test\n' +
        'b0318bca5aef   busybox:latest   "sh"                     4 seconds ago   Exited (0) 3 seconds ago             ecstatic_beaver\n' +
        'c0318bca5aef   3fbc63216742     "echo 12345678901234…"   2 hours ago     Created                              x\n',
    );
  });

  test("an empty table is its header", () => {
    expect(formatTable([["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]])).toBe(
      "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n",
    );
  });

  test("wide characters count as two columns", () => {
    const out = formatTable([["NAME", "X"], ["日本", ""], ["ab", "y"]], DOCKER_TABLE);
    expect(out).toBe("NAME      X\n日本      \nab        y\n");
  });
});
