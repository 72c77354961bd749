import { describe, expect, test } from "bun:test";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainrError, exitStatusFor, fromErrno, toContainrError, wrap } from "../../src/diag/errors.ts";
import { configureLogging, reportError } from "../../src/diag/log.ts";

describe("ContainrError", () => {
  test("wrap adds context in front and keeps code, hint and exit status", () => {
    const inner = new ContainrError("EXECUTABLE_NOT_FOUND", 'exec "nope": executable file not found in $PATH', { hint: "check PATH" });
    const outer = wrap(wrap(inner, "start container"), "run");
    expect(outer.message).toBe('run: start container: exec "nope": executable file not found in $PATH');
    expect(outer.code).toBe("EXECUTABLE_NOT_FOUND");
    expect(outer.hint).toBe("check PATH");
    expect(outer.exit).toBe(127);
    expect(outer.causeChain()).toEqual([
      'start container: exec "nope": executable file not found in $PATH',
      'exec "nope": executable file not found in $PATH',
    ]);
  });

  test("errno failures read crun-style with the errno name", () => {
    const err = fromErrno(1, "mount /proc on /proc", "MOUNT_FAILED");
    expect(err.message).toBe("mount /proc on /proc: EPERM: Operation not permitted");
    expect(err.code).toBe("PERMISSION_DENIED");
    expect(err.hint).toContain("root");
    const other = fromErrno(22, "mount /proc on /proc", "MOUNT_FAILED");
    expect(other.code).toBe("MOUNT_FAILED");
    expect(other.message).toContain("EINVAL");
  });

  test("node fs errors become coded errors naming the path", () => {
    let thrown: unknown;
    try {
      readFileSync("/nonexistent/containr/file");
    } catch (err) {
      thrown = err;
    }
    const err = toContainrError(thrown);
    expect(err.message).toContain("/nonexistent/containr/file");
    expect(err.message).toContain("ENOENT");
    expect(err.errno).toBe(2);
  });

  test("engine errors exit 125, OCI errors 1 as runc, 126/127 stay", () => {
    expect(exitStatusFor(new ContainrError("CONTAINER_NOT_FOUND", "x"), "engine")).toBe(125);
    expect(exitStatusFor(new ContainrError("CONTAINER_NOT_FOUND", "x"), "oci")).toBe(1);
    expect(exitStatusFor(new ContainrError("EXECUTABLE_NOT_FOUND", "x"), "oci")).toBe(127);
    expect(exitStatusFor(new ContainrError("CANNOT_EXEC", "x"), "engine")).toBe(126);
  });
});

describe("reportError", () => {
  test("text and JSON forms carry code, message, hint and cause", () => {
    const dir = mkdtempSync(join(tmpdir(), "containr-diag-"));
    try {
      const file = join(dir, "log");
      const err = wrap(new ContainrError("NAME_IN_USE", 'the name "web" is already in use', { hint: "remove it" }), "create");
      configureLogging({ format: "text", file }, (p) => openSync(p, "a"));
      reportError(err);
      configureLogging({ format: "json" }, (p) => openSync(p, "a"));
      reportError(err);
      const lines = readFileSync(file, "utf8").trimEnd().split("\n");
      expect(lines[0]).toBe('Error: [NAME_IN_USE] create: the name "web" is already in use');
      expect(lines[1]).toBe("Hint: remove it");
      const record = JSON.parse(lines[2]!);
      expect(record).toMatchObject({ level: "error", code: "NAME_IN_USE", hint: "remove it" });
      expect(record.msg).toBe('create: the name "web" is already in use');
      expect(record.cause).toEqual(['the name "web" is already in use']);
      expect(Number.isNaN(Date.parse(record.time))).toBe(false);
    } finally {
      configureLogging({ format: "text", file: "/dev/stderr" }, (p) => openSync(p, "a"));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
