/**
 * Issue 7, clean-up on every error path, for the engine family: `run --rm`
 * failing at each step of create and start (CONTAINR_FAILPOINTS injects the
 * failure; the runtime's create runs in the engine's process, with the
 * container's monitor as the init's parent) leaves no record, mount,
 * container directory, anonymous volume, runtime state, cgroup or process
 * (the monitor exits too), and the image can still be removed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { engineEnv, processesMentioning, type EngineEnv } from "../helpers/engine-env.ts";

const STEPS = [
  "engine.create.record",
  "engine.create.rootfs",
  "engine.create.volumes",
  "engine.create.bundle",
  "oci.create.spawned",
  "oci.create.placed",
  "oci.create.mounted",
  "oci.create.state-written",
];

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("a run that fails at any step leaves nothing behind", () => {
  let env: EngineEnv;

  beforeAll(async () => {
    env = await engineEnv("cleanup", {}, { Volumes: { "/anon": {} } });
  }, 120_000);

  afterAll(async () => {
    await env?.cleanUp();
  });

  const run = (step: string) =>
    Bun.spawnSync(env.argv(["run", "--rm", "-v", "named:/data", env.ref, "true"]), {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", CONTAINR_FAILPOINTS: step },
      stdout: "pipe",
      stderr: "pipe",
    });

  for (const step of STEPS) {
    test(`failure at ${step}`, () => {
      const r = run(step);
      expect(r.stderr.toString()).toContain(`injected failure at ${step}`);
      expect(r.exitCode).toBe(125);

      expect(env.containr(["ps", "-aq"]).stdout).toBe("");
      expect(readFileSync("/proc/self/mountinfo", "utf8").includes(env.root)).toBe(false);
      const containerDirs = readdirSync(join(env.root, "containers")).filter((name) => /^[0-9a-f]{64}$/.test(name));
      expect(containerDirs).toEqual([]);
      // the named volume may stay (Docker keeps it); the image's anonymous one must not
      expect(env.containr(["volume", "ls", "-q"]).stdout.split("\n").filter((v) => v && v !== "named")).toEqual([]);
      const runtimeRoot = join(env.runroot, "runtime");
      expect(existsSync(runtimeRoot) ? readdirSync(runtimeRoot) : []).toEqual([]);
      // the monitor (its argv names the run root) exited when the create failed
      expect(processesMentioning(env.runroot)).toEqual([]);
    });
  }

  test("afterwards the image is unused: the same run works and rmi can remove it", () => {
    expect(env.containr(["run", "--rm", env.ref, "true"]).status).toBe(0);
    const rmi = env.containr(["rmi", env.ref]);
    expect(rmi.stderr).toBe("");
    expect(rmi.status).toBe(0);
  });
});
