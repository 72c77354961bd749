import { describe, expect, test } from "bun:test";
import { HelpRequested, parseFlags, type FlagDefs } from "../../src/cli/command.ts";
import { errorOf } from "../helpers/errors.ts";

const runFlags = {
  image: { type: "positional", description: "image", required: true },
  detach: { type: "boolean", description: "detach", alias: "d" },
  interactive: { type: "boolean", description: "stdin", alias: "i" },
  tty: { type: "boolean", description: "tty", alias: "t" },
  name: { type: "string", description: "name" },
  env: { type: "string", description: "env", alias: "e", multiple: true },
  volume: { type: "string", description: "volume", alias: "v", multiple: true },
  hostname: { type: "string", description: "hostname", alias: "h" },
  publish: { type: "string", description: "publish", alias: "p", multiple: true },
  logFormat: { type: "enum", description: "format", options: ["text", "json"] },
} satisfies FlagDefs;

const parseRun = (argv: string[]) => parseFlags(argv, runFlags, 1, "containr run");

describe("parseFlags for run IMAGE CMD...", () => {
  test("a container's own flags after the image are passed through verbatim", () => {
    const r = parseRun(["-it", "--name", "x", "alpine", "sh", "-c", "echo hi", "--name", "zzz"]);
    expect(r.values.interactive).toBe(true);
    expect(r.values.tty).toBe(true);
    expect(r.values.name).toBe("x");
    expect(r.positionals).toEqual(["alpine"]);
    expect(r.rest).toEqual(["sh", "-c", "echo hi", "--name", "zzz"]);
  });

  test("repeated flags collect every value, in order", () => {
    const r = parseRun(["-e", "A=1", "--env", "B=2", "-eC=3", "-v", "a:/a", "-v=b:/b", "img"]);
    expect(r.values.env).toEqual(["A=1", "B=2", "C=3"]);
    expect(r.values.volume).toEqual(["a:/a", "b:/b"]);
  });

  test("--help after the image belongs to the container", () => {
    const r = parseRun(["img", "ls", "--help"]);
    expect(r.rest).toEqual(["ls", "--help"]);
  });

  test("--help before the image asks for help", () => {
    expect(() => parseRun(["--help", "img"])).toThrow(HelpRequested);
  });

  test("-h is a flag of its own when the command defines it (hostname)", () => {
    const r = parseRun(["-h", "myhost", "img"]);
    expect(r.values.hostname).toBe("myhost");
  });

  test("clustered short flags with a value at the end (-dp 80:80)", () => {
    const r = parseRun(["-dp", "8080:80", "img"]);
    expect(r.values.detach).toBe(true);
    expect(r.values.publish).toEqual(["8080:80"]);
  });

  test("--flag=value, kebab-case names and --no- negation", () => {
    const r = parseRun(["--log-format=json", "--no-detach", "img"]);
    expect(r.values.logFormat).toBe("json");
    expect(r.values.detach).toBe(false);
  });

  test("-- ends the flags", () => {
    const r = parseFlags(["-d", "--", "-x"], runFlags, Infinity, "t");
    expect(r.positionals).toEqual([]);
    expect(r.rest).toEqual(["-x"]);
  });

  test("unknown flags are usage errors that point at --help", () => {
    const err = errorOf(() => parseRun(["--bogus", "img"]));
    expect(err.code).toBe("USAGE");
    expect(err.message).toContain("--bogus");
    expect(err.hint).toContain("containr run --help");
    expect(err.exit).toBe(125);
  });

  test("an unknown letter in a cluster is named", () => {
    expect(errorOf(() => parseRun(["-dz", "img"])).message).toContain("'z'");
  });

  test("a value flag at the end without a value is an error", () => {
    expect(errorOf(() => parseRun(["img", "--name"].slice(1))).message).toContain("--name");
  });

  test("enum values are checked", () => {
    expect(errorOf(() => parseRun(["--log-format", "xml", "img"])).message).toContain("text, json");
  });

  test("a short boolean takes =true/=false as pflag does (-d=false)", () => {
    expect(parseRun(["-d=false", "img"]).values.detach).toBe(false);
    expect(parseRun(["-i", "-d=true", "img"]).values.detach).toBe(true);
    expect(errorOf(() => parseRun(["-d=maybe", "img"])).message).toContain("true or false");
  });

  test("a boolean given a non-boolean value is an error", () => {
    expect(errorOf(() => parseRun(["--detach=yes", "img"])).message).toContain("true or false");
  });
});
