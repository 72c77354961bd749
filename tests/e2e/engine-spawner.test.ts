/**
 * The engine's start (ADR 0007, the spawner): the runtime's create runs in
 * the CLI's process and the container's monitor starts containr-init, so
 * the init is the monitor's child from the start. What the user sees: the
 * monitor's own failure is the error, and a create left half done by a
 * killed CLI does not block the container's next start.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { engineEnv, type EngineEnv } from "../helpers/engine-env.ts";

const isRoot = process.getuid?.() === 0;

/** Field 4 (ppid) and 3 (state) of /proc/PID/stat, or undefined when the process is gone. */
function stat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
    return { state: fields[0]!, ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

describe.skipIf(!isRoot)("starting a container through its monitor", () => {
  let env: EngineEnv;

  beforeAll(async () => {
    env = await engineEnv("spawner", {});
  }, 120_000);

  afterAll(async () => {
    await env?.cleanUp();
  });

  test("the container's init is the child of its monitor, whose stdio is /dev/null once it runs", () => {
    const run = env.containr(["run", "-d", "--name", "parent", env.ref, "sleep", "30"]);
    expect(run.stderr).toBe("");
    const id = run.stdout.trim();
    const init = Number(env.inspect("parent", "{{.State.Pid}}"));
    const monitor = stat(init)!.ppid;
    const argv = readFileSync(`/proc/${monitor}/cmdline`, "utf8").split("\0");
    expect(argv[0]).toContain("containr-monitor");
    expect(argv.slice(1, 3)).toEqual(["-c", id]);
    // its stdio is /dev/null once it has the init's pid: nothing holds the CLI's pipes
    for (const fd of [0, 1, 2]) expect(Bun.spawnSync(["readlink", `/proc/${monitor}/fd/${fd}`]).stdout.toString().trim()).toBe("/dev/null");
    expect(env.containr(["rm", "-f", "parent"]).status).toBe(0);
  });

  test("a monitor that cannot start is the error, and nothing of the container stays", () => {
    const id = env.containr(["create", "--name", "nolog", env.ref, "true"]).stdout.trim();
    // the monitor opens the log first: a directory in its place makes it fail before containr-init runs
    const logPath = join(env.root, "containers", id, `${id}-json.log`);
    mkdirSync(logPath);
    try {
      const start = env.containr(["start", "nolog"]);
      expect(start.status).toBe(125);
      expect(start.stderr).toContain("[CONTAINER_INIT_FAILED]");
      expect(start.stderr).toContain(`the container's monitor failed: containr-monitor ${id}: open the log file: Is a directory`);
      expect(existsSync(join(env.runroot, "runtime", id))).toBe(false);
      expect(env.inspect("nolog", "{{.State.Status}}")).toBe("created");
    } finally {
      rmdirSync(logPath);
    }
    expect(env.containr(["start", "nolog"]).status).toBe(0);
    expect(env.containr(["rm", "-f", "nolog"]).status).toBe(0);
  });

  test("a create left half done by a killed CLI is removed by the next start", () => {
    const id = env.containr(["create", "--name", "half", env.ref, "sleep", "30"]).stdout.trim();
    // What a CLI killed after the init's READY and before the runtime's state leaves: the
    // init waiting on its exec fifo, in its cgroup, and the runtime's directory without a state.
    const runtimeRoot = join(env.runroot, "runtime");
    // the init keeps the create's stdio: not a pipe this test would wait on
    const created = Bun.spawnSync(env.argv(["oci", "--root", runtimeRoot, "create", "--bundle", join(env.root, "containers", id, "bundle"), id]), {
      stdout: "ignore",
      stderr: "ignore",
    });
    expect(created.exitCode).toBe(0);
    const stateFile = join(runtimeRoot, id, "state.json");
    const orphan = (JSON.parse(readFileSync(stateFile, "utf8")) as { pid: number }).pid;
    unlinkSync(stateFile);

    const start = env.containr(["start", "half"]);
    expect(start.stderr).toBe("");
    expect(start.status).toBe(0);
    expect(env.inspect("half", "{{.State.Running}}")).toBe("true");
    const left = stat(orphan);
    expect(left === undefined || left.state === "Z").toBe(true);

    expect(env.containr(["rm", "-f", "half"]).status).toBe(0);
    expect(existsSync(join(runtimeRoot, id))).toBe(false);
  });
});
