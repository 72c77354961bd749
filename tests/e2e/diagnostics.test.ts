/**
 * Issue 7's "must show", from the compiled binary: every error a user can
 * provoke prints its own code, a hint where one helps, Docker's exit status,
 * and never a stack trace; --debug shows the steps of a run with timings;
 * --log-format json is one JSON object per line.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchOciConfig } from "../../scripts/bench/oci-config.ts";
import { makeBusyboxRootfs } from "../helpers/busybox.ts";
import { engineEnv, type EngineEnv, type Run } from "../helpers/engine-env.ts";
import { asUser, ensureUser, type TestUser } from "../helpers/users.ts";
import { BINARY } from "../helpers/binary.ts";

const isRoot = process.getuid?.() === 0;

/** A JavaScript stack frame ("    at fn (file:1:2)") in what the user sees. */
const STACK_FRAME = /^\s+at .+[:(]/m;

function expectCodedError(r: Run, code: string, status: number): void {
  expect(r.stderr).toContain(`Error: [${code}] `);
  expect(r.stderr).not.toMatch(STACK_FRAME);
  expect(r.status).toBe(status);
}

describe.skipIf(!isRoot)("errors, codes and exit statuses from the compiled binary", () => {
  let env: EngineEnv;
  let bundle: string;
  let user: TestUser;

  beforeAll(async () => {
    env = await engineEnv("diag", {});
    bundle = join(env.work, "bundle");
    makeBusyboxRootfs(join(bundle, "rootfs"));
    writeFileSync(join(bundle, "config.json"), JSON.stringify(benchOciConfig(["true"])));
    for (const dir of [env.work, bundle]) chmodSync(dir, 0o755);
    user = ensureUser("containr-nosub", { subIds: false });
  }, 120_000);

  afterAll(async () => {
    await env?.cleanUp();
  });

  test("an unprivileged user without rootless set-up gets PERMISSION_DENIED and a hint that says what to do", () => {
    for (const argv of [
      [env.argv([])[0]!, "oci", "--root", join(user.runtimeDir, "oci"), "run", "--bundle", bundle, "unpriv"],
      [env.argv([])[0]!, "--root", env.root, "--runroot", env.runroot, "ps"],
    ]) {
      const r = Bun.spawnSync(asUser(user, argv), { stderr: "pipe", stdout: "pipe" });
      const stderr = r.stderr.toString();
      expect(stderr).toContain("Error: [PERMISSION_DENIED] ");
      expect(stderr).toMatch(/^Hint: .*(root|rootless)/m);
      expect(stderr).not.toMatch(STACK_FRAME);
      expect(r.exitCode).toBe(argv.includes("oci") ? 1 : 125);
    }
  });

  test("an unknown image, container and name in use each have their own code; a missing command is 127", () => {
    expectCodedError(env.containr(["run", "--rm", `${env.registry.domain}/e2e/no-such-image:latest`, "true"]), "IMAGE_NOT_FOUND", 125);
    expectCodedError(env.containr(["inspect", "no-such-container"]), "CONTAINER_NOT_FOUND", 125);
    expect(env.containr(["create", "--name", "taken", env.ref, "true"]).status).toBe(0);
    expectCodedError(env.containr(["create", "--name", "taken", env.ref, "true"]), "NAME_IN_USE", 125);
    expectCodedError(env.containr(["run", "--rm", env.ref, "/no/such/command"]), "EXECUTABLE_NOT_FOUND", 127);
    expectCodedError(env.containr(["--log-level", "loud", "ps"]), "USAGE", 125);
  });

  test("--debug shows the steps of a run with their timings", () => {
    const r = Bun.spawnSync([env.argv([])[0]!, "oci", "--root", join(env.work, "oci"), "--debug", "run", "--bundle", bundle, "dbg"], { stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    const stderr = r.stderr.toString();
    for (const step of ["config", "clone", "mounts"]) expect(stderr).toMatch(new RegExp(`debug: .*${step}.* took [0-9.]+ ms`));
    expect(stderr).toMatch(/debug: .*total [0-9.]+ ms/);
  });

  test("--log-format json: every diagnostics line is a JSON object, errors carry code and hint", () => {
    const r = env.containr(["--log-format", "json", "--debug", "inspect", "no-such-container"]);
    const lines = r.stderr.trim().split("\n");
    expect(lines.length).toBeGreaterThan(1);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const record of records) {
      expect(typeof record.level).toBe("string");
      expect(Number.isNaN(Date.parse(String(record.time)))).toBe(false);
      expect(typeof record.msg).toBe("string");
    }
    const error = records.find((record) => record.level === "error")!;
    expect(error.code).toBe("CONTAINER_NOT_FOUND");
    expect(r.stdout).toBe("[]\n"); // data only on stdout, as Docker prints it
    expect(r.status).toBe(125);
  });
});

describe("a failure that is not the user's still reads as an error, not a trace", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "containr-diag-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a config.json that is not JSON names the file, exit 1 as runc", () => {
    writeFileSync(join(dir, "config.json"), "{ not json");
    const r = Bun.spawnSync([join(import.meta.dir, "../../bin/containr"), "oci", "--root", join(dir, "state"), "run", "--bundle", dir, "x"], {
      stderr: "pipe",
    });
    expect(r.stderr.toString()).toContain("Error: [INVALID_CONFIG] ");
    expect(r.stderr.toString()).toContain("config.json");
    expect(r.stderr.toString()).not.toMatch(STACK_FRAME);
    expect(r.exitCode).toBe(1);
  });
});

test("output to a reader that went away (containr version | true) ends quietly, as docker's", () => {
  // the reader exits before containr writes: every write meets EPIPE
  const r = Bun.spawnSync(["bash", "-c", `{ sleep 0.2; "${BINARY}" version; } | true; echo "status \${PIPESTATUS[0]}" >&2`]);
  expect(r.stderr.toString()).toBe("status 0\n");
});
