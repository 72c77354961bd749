import { describe, expect, test } from "bun:test";
import {
  bytesSize,
  containerStatus,
  createdAgo,
  formatFloat,
  fromHumanSize,
  humanDuration,
  humanSize,
  humanSizeWithPrecision,
  parseMemoryFlag,
  ramInBytes,
} from "../../src/cli/format/units.ts";
import { errorOf } from "../helpers/errors.ts";

const KB = 1000, MB = 1000 * KB, GB = 1000 * MB, TB = 1000 * GB, PB = 1000 * TB;
const KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB, TiB = 1024 * GiB, PiB = 1024 * TiB;
const SECOND = 1000, MINUTE = 60 * SECOND, HOUR = 60 * MINUTE, DAY = 24 * HOUR, WEEK = 7 * DAY, MONTH = 30 * DAY, YEAR = 365 * DAY;

describe("sizes, as go-units' tests", () => {
  test("BytesSize", () => {
    expect(bytesSize(1024)).toBe("1KiB");
    expect(bytesSize(1024 * 1024)).toBe("1MiB");
    expect(bytesSize(1048576)).toBe("1MiB");
    expect(bytesSize(2 * MiB)).toBe("2MiB");
    expect(bytesSize(3.42 * GiB)).toBe("3.42GiB");
    expect(bytesSize(5.372 * TiB)).toBe("5.372TiB");
    expect(bytesSize(2.22 * PiB)).toBe("2.22PiB");
    expect(bytesSize(KiB * KiB * KiB * KiB * KiB * PiB)).toBe("1.049e+06YiB");
    expect(bytesSize(64 * MiB)).toBe("64MiB");
  });

  test("HumanSize", () => {
    expect(humanSize(1000)).toBe("1kB");
    expect(humanSize(1024)).toBe("1.024kB");
    expect(humanSize(1000000)).toBe("1MB");
    expect(humanSize(1048576)).toBe("1.049MB");
    expect(humanSize(2 * MB)).toBe("2MB");
    expect(humanSize(3.42 * GB)).toBe("3.42GB");
    expect(humanSize(5.372 * TB)).toBe("5.372TB");
    expect(humanSize(2.22 * PB)).toBe("2.22PB");
    expect(humanSize(10000000000000 * PB)).toBe("1e+04YB");
  });

  test("HumanSizeWithPrecision 3, as docker images and ps -s print", () => {
    expect(humanSizeWithPrecision(10, 3)).toBe("10B");
    expect(humanSizeWithPrecision(0, 3)).toBe("0B");
    expect(humanSizeWithPrecision(4_261_234, 3)).toBe("4.26MB");
    expect(humanSizeWithPrecision(1_234_567_890, 3)).toBe("1.23GB");
    // Go's %g switches to an exponent when rounding reaches the precision
    expect(humanSizeWithPrecision(999_999, 3)).toBe("1e+03kB");
  });

  test("RAMInBytes", () => {
    const cases: [string, number][] = [
      ["32", 32], ["32b", 32], ["32B", 32], ["32k", 32 * KiB], ["32K", 32 * KiB], ["32kb", 32 * KiB],
      ["32Kb", 32 * KiB], ["32Kib", 32 * KiB], ["32KIB", 32 * KiB], ["32Mb", 32 * MiB], ["32Gb", 32 * GiB],
      ["32Tb", 32 * TiB], ["32Pb", 32 * PiB], ["32PB", 32 * PiB], ["32P", 32 * PiB], ["32.3", 32],
      ["32.3 mb", Math.trunc(32.3 * MiB)], ["0.3MB", Math.trunc(0.3 * MiB)], ["64m", 67108864], ["1g", GiB], ["512k", 524288], ["100b", 100],
    ];
    for (const [input, bytes] of cases) expect(ramInBytes(input)).toBe(bytes);
  });

  test("FromHumanSize", () => {
    const cases: [string, number][] = [
      ["32", 32], ["32b", 32], ["32k", 32 * KB], ["32Kb", 32 * KB], ["32Mb", 32 * MB], ["32Gb", 32 * GB],
      ["32Tb", 32 * TB], ["32Pb", 32 * PB], ["32.5kB", 32.5 * KB], ["32.5 kB", 32.5 * KB], ["32.5 B", 32], ["0.3 K", 300],
    ];
    for (const [input, bytes] of cases) expect(fromHumanSize(input)).toBe(bytes);
  });

  test("invalid sizes are USAGE errors in go-units' wording", () => {
    for (const bad of ["", "hello", "-32", ".3kB", " 32 ", "32m b", "32bm", "1.2.3"]) {
      const err = errorOf(() => ramInBytes(bad));
      expect(err.code).toBe("USAGE");
      expect(err.message).toBe(`invalid size: '${bad}'`);
    }
  });

  test("a bad --memory names the flag as Docker does", () => {
    expect(parseMemoryFlag("64m", "-m, --memory")).toBe(64 * MiB);
    expect(() => parseMemoryFlag("64x", "-m, --memory")).toThrow(`invalid argument "64x" for "-m, --memory" flag: invalid size: '64x'`);
  });
});

describe("formatFloat is Go's strconv.FormatFloat", () => {
  test("fixed, exponent and general forms, ties to even", () => {
    expect(formatFloat(0.125, "f", 2)).toBe("0.12");
    expect(formatFloat(0.375, "f", 2)).toBe("0.38");
    expect(formatFloat(2.5, "f", 0)).toBe("2");
    expect(formatFloat(0.005, "f", 2)).toBe("0.01");
    expect(formatFloat(12345.678, "e", 3)).toBe("1.235e+04");
    expect(formatFloat(0, "e", 2)).toBe("0.00e+00");
    expect(formatFloat(1088 / 1024, "g", 4)).toBe("1.062");
    expect(formatFloat(99.96, "g", 3)).toBe("100");
    expect(formatFloat(0.5, "g", -1)).toBe("0.5");
    expect(formatFloat(1e6, "g", -1)).toBe("1e+06");
    expect(formatFloat(123456.5, "g", -1)).toBe("123456.5");
    expect(formatFloat(1234567.5, "g", -1)).toBe("1.2345675e+06");
    expect(formatFloat(1e-5, "g", -1)).toBe("1e-05");
  });
});

describe("durations, as go-units' tests", () => {
  const cases: [number, string][] = [
    [450, "Less than a second"], [-5 * SECOND, "Less than a second"], [1 * SECOND, "1 second"], [45 * SECOND, "45 seconds"],
    [46 * SECOND, "46 seconds"], [59 * SECOND, "59 seconds"], [60 * SECOND, "About a minute"], [3 * MINUTE, "3 minutes"],
    [35 * MINUTE, "35 minutes"], [35 * MINUTE + 40 * SECOND, "35 minutes"], [45 * MINUTE, "45 minutes"], [59 * MINUTE, "59 minutes"],
    [HOUR, "About an hour"], [HOUR + 29 * MINUTE, "About an hour"], [HOUR + 31 * MINUTE, "2 hours"], [HOUR + 59 * MINUTE, "2 hours"],
    [3 * HOUR, "3 hours"], [3 * HOUR + 29 * MINUTE, "3 hours"], [3 * HOUR + 31 * MINUTE, "4 hours"], [3 * HOUR + 60 * MINUTE, "4 hours"],
    [24 * HOUR, "24 hours"], [DAY + 12 * HOUR, "36 hours"], [2 * DAY, "2 days"], [7 * DAY, "7 days"], [13 * DAY + 5 * HOUR, "13 days"],
    [2 * WEEK, "2 weeks"], [2 * WEEK + 4 * DAY, "2 weeks"], [3 * WEEK, "3 weeks"], [4 * WEEK, "4 weeks"], [4 * WEEK + 3 * DAY, "4 weeks"],
    [MONTH, "4 weeks"], [MONTH + 2 * WEEK, "6 weeks"], [2 * MONTH, "2 months"], [2 * MONTH + 2 * WEEK, "2 months"], [3 * MONTH, "3 months"],
    [3 * MONTH + WEEK, "3 months"], [5 * MONTH + 2 * WEEK, "5 months"], [13 * MONTH, "13 months"], [23 * MONTH, "23 months"],
    [24 * MONTH, "24 months"], [24 * MONTH + 2 * WEEK, "2 years"], [3 * YEAR + 2 * MONTH, "3 years"],
  ];
  for (const [ms, text] of cases) {
    test(`${ms} ms is "${text}"`, () => expect(humanDuration(ms)).toBe(text));
  }
});

describe("container status strings, as moby's State.String()", () => {
  const now = Date.parse("2024-05-01T12:00:00Z");
  const ago = (ms: number) => new Date(now - ms).toISOString();

  test("running, paused, restarting, healthy", () => {
    expect(containerStatus({ running: true, exitCode: 0, startedAt: ago(5 * MINUTE) }, now)).toBe("Up 5 minutes");
    expect(containerStatus({ running: true, exitCode: 0, startedAt: ago(100) }, now)).toBe("Up Less than a second");
    expect(containerStatus({ running: true, paused: true, exitCode: 0, startedAt: ago(2 * HOUR) }, now)).toBe("Up 2 hours (Paused)");
    expect(containerStatus({ running: true, restarting: true, exitCode: 1, startedAt: ago(HOUR), finishedAt: ago(3 * SECOND) }, now)).toBe(
      "Restarting (1) 3 seconds ago",
    );
    expect(containerStatus({ running: true, exitCode: 0, startedAt: ago(MINUTE), health: "healthy" }, now)).toBe("Up About a minute (healthy)");
    expect(containerStatus({ running: true, exitCode: 0, startedAt: ago(MINUTE), health: "starting" }, now)).toBe("Up About a minute (health: starting)");
  });

  test("created, exited, dead, removing", () => {
    expect(containerStatus({ running: false, exitCode: 0 }, now)).toBe("Created");
    expect(containerStatus({ running: false, exitCode: 0, startedAt: "0001-01-01T00:00:00Z" }, now)).toBe("Created");
    expect(containerStatus({ running: false, exitCode: 0, startedAt: ago(3 * HOUR), finishedAt: ago(2 * HOUR) }, now)).toBe("Exited (0) 2 hours ago");
    expect(containerStatus({ running: false, exitCode: 137, startedAt: ago(HOUR), finishedAt: ago(10) }, now)).toBe(
      "Exited (137) Less than a second ago",
    );
    expect(containerStatus({ running: false, dead: true, exitCode: 0, startedAt: ago(HOUR) }, now)).toBe("Dead");
    expect(containerStatus({ running: false, removing: true, exitCode: 0, startedAt: ago(HOUR) }, now)).toBe("Removal In Progress");
  });

  test("CREATED counts whole seconds since create", () => {
    expect(createdAgo(ago(65 * SECOND), now)).toBe("About a minute ago");
    expect(createdAgo(ago(DAY), now)).toBe("24 hours ago");
    // created at 11:59:58.500 is 11:59:58 to Docker (the API keeps whole seconds)
    expect(createdAgo(new Date(now - 1500).toISOString(), now)).toBe("2 seconds ago");
  });
});
