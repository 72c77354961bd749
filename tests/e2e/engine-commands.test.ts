/**
 * The engine's commands beyond the lifecycle test, from the compiled
 * binary: --init (a reaping pid 1), attach (output, stdin, detach keys),
 * restart, logs --since/--until, ps -n/-l/--no-trunc/--filter.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startEngineHarness, until, type EngineHarness } from "../helpers/engine-cli.ts";

let h: EngineHarness;
const inspect = (name: string, format: string) => h.containr(["inspect", "-f", format, name]).stdout.trim();

beforeAll(async () => {
  h = await startEngineHarness("commands");
}, 120_000);

afterAll(async () => {
  await h?.close();
});

test("--init: pid 1 is the reaper, orphans are reaped, signals reach the command, its status is the exit code", async () => {
  // a child that double-forks leaves an orphan that re-parents to pid 1 and exits: a zombie unless pid 1 reaps
  const script = "cat /proc/1/comm; sh -c 'sleep 0.2 & exit 0'; sleep 0.8; ps -o stat,comm | grep -c '^Z' ; exit 6";
  const run = h.containr(["run", "--rm", "--init", h.ref, "sh", "-c", script]);
  expect(run.stdout).toBe("containr-reaper\n0\n");
  expect(run.status).toBe(6);
  // without --init the shell is pid 1
  expect(h.containr(["run", "--rm", h.ref, "cat", "/proc/1/comm"]).stdout).toBe("cat\n");

  const started = h.containr(["run", "-d", "--init", "--name", "trapper", h.ref, "sh", "-c", "trap 'echo got TERM; exit 9' TERM; echo ready; while true; do sleep 0.1; done"]);
  expect(started.status).toBe(0);
  await until("the trap is set", () => h.containr(["logs", "trapper"]).stdout.includes("ready"));
  expect(h.containr(["stop", "-t", "10", "trapper"]).status).toBe(0);
  expect(h.containr(["logs", "trapper"]).stdout).toBe("ready\ngot TERM\n");
  expect(inspect("trapper", "{{.State.ExitCode}} {{.HostConfig.Init}}")).toBe("9 true");
}, 60_000);

test("attach: output from the moment of attaching, stdin to the container, detach keys leave it running", async () => {
  expect(h.containr(["run", "-d", "-i", "--name", "echoer", h.ref, "sh", "-c", "while read line; do echo \"got $line\"; done; echo bye"]).status).toBe(0);
  const attach = Bun.spawn([...h.argv, "attach", "echoer"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  await Bun.sleep(500);
  attach.stdin.write("one\n");
  attach.stdin.flush();
  await until("the echo of one", () => h.containr(["logs", "echoer"]).stdout.includes("got one"));
  // ctrl-p ctrl-q: the attach ends with 0, the container keeps running and keeps its stdin
  attach.stdin.write(new Uint8Array([0x10, 0x11]));
  attach.stdin.flush();
  expect(await attach.exited).toBe(0);
  expect(await new Response(attach.stdout).text()).toBe("got one\n");
  expect(inspect("echoer", "{{.State.Status}}")).toBe("running");

  // a second attach whose input ends: attach (not stdin-once) leaves the container's stdin open
  const second = Bun.spawn([...h.argv, "attach", "echoer"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  await Bun.sleep(500);
  second.stdin.write("two\n");
  second.stdin.end();
  await until("the echo of two", () => h.containr(["logs", "echoer"]).stdout.includes("got two"));
  expect(inspect("echoer", "{{.State.Status}}")).toBe("running");
  h.containr(["kill", "echoer"]);
  expect(await second.exited).toBe(137);
  expect(await new Response(second.stdout).text()).toBe("got two\n");

  const stopped = h.containr(["attach", "echoer"]);
  expect(stopped.status).toBe(125);
  expect(stopped.stderr).toContain("You cannot attach to a stopped container");
}, 60_000);

test("restart: a new run of the same container, with its restart count unchanged by a manual restart", async () => {
  expect(h.containr(["run", "-d", "--name", "restarted", h.ref, "sh", "-c", "echo run; sleep 1000"]).status).toBe(0);
  const firstPid = inspect("restarted", "{{.State.Pid}}");
  const firstStart = inspect("restarted", "{{.State.StartedAt}}");
  const restart = h.containr(["restart", "-t", "0", "restarted"]);
  expect(restart.status).toBe(0);
  expect(restart.stdout).toBe("restarted\n");
  expect(inspect("restarted", "{{.State.Status}}")).toBe("running");
  expect(inspect("restarted", "{{.State.Pid}}")).not.toBe(firstPid);
  expect(inspect("restarted", "{{.State.StartedAt}}")).not.toBe(firstStart);
  expect(inspect("restarted", "{{.RestartCount}}")).toBe("0");
  await until("the second run's output", () => h.containr(["logs", "restarted"]).stdout === "run\nrun\n");
  // a stopped container restarts too
  expect(h.containr(["stop", "-t", "0", "restarted"]).status).toBe(0);
  expect(h.containr(["restart", "restarted"]).status).toBe(0);
  expect(inspect("restarted", "{{.State.Status}}")).toBe("running");
  h.containr(["rm", "-f", "restarted"]);
}, 60_000);

test("logs --since and --until select by the entries' times", async () => {
  expect(h.containr(["run", "-d", "--name", "timed", h.ref, "sh", "-c", "echo early; sleep 1.5; echo late"]).status).toBe(0);
  await until("both lines", () => h.containr(["logs", "timed"]).stdout === "early\nlate\n");
  const stamped = h.containr(["logs", "-t", "timed"]).stdout.trim().split("\n");
  expect(stamped[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z early$/);
  const lateTime = Date.parse(stamped[1]!.split(" ")[0]!);
  const between = new Date(lateTime - 700).toISOString();
  expect(h.containr(["logs", "--since", between, "timed"]).stdout).toBe("late\n");
  expect(h.containr(["logs", "--until", between, "timed"]).stdout).toBe("early\n");
  // Unix seconds as well as relative durations
  expect(h.containr(["logs", "--since", String((lateTime - 700) / 1000), "timed"]).stdout).toBe("late\n");
  expect(h.containr(["logs", "--since", "10m", "timed"]).stdout).toBe("early\nlate\n");
  expect(h.containr(["logs", "--until", "10m", "timed"]).stdout).toBe("");
  expect(h.containr(["logs", "--since", "yesterday-ish", "timed"]).status).toBe(125);
}, 60_000);

test("ps -n, -l, --no-trunc and filters", async () => {
  for (const [name, label] of [["psa", "tier=web"], ["psb", "tier=db"], ["psc", "tier=web"]] as const) {
    expect(h.containr(["create", "--name", name, "-l", label, h.ref, "sleep", "1000"]).status).toBe(0);
  }
  expect(h.containr(["start", "psb"]).status).toBe(0);
  expect(h.containr(["ps", "-n", "2", "--format", "{{.Names}}"]).stdout).toBe("psc\npsb\n");
  expect(h.containr(["ps", "-l", "--format", "{{.Names}}"]).stdout).toBe("psc\n");
  const long = h.containr(["ps", "-l", "--no-trunc", "--format", "{{.ID}}"]).stdout.trim();
  expect(long).toMatch(/^[0-9a-f]{64}$/);
  expect(h.containr(["ps", "-l", "--format", "{{.ID}}"]).stdout.trim()).toBe(long.slice(0, 12));
  const names = (filter: string[]) =>
    h
      .containr(["ps", "-a", ...filter.flatMap((f) => ["--filter", f]), "--format", "{{.Names}}"])
      .stdout.split("\n")
      .filter((n) => n.startsWith("ps"))
      .sort();
  expect(names(["label=tier=web"])).toEqual(["psa", "psc"]);
  expect(names(["status=running"])).toEqual(["psb"]);
  expect(names(["status=created", "label=tier"])).toEqual(["psa", "psc"]);
  expect(names(["name=psa"])).toEqual(["psa"]);
  expect(names([`id=${long.slice(0, 8)}`])).toEqual(["psc"]);
  expect(names([`ancestor=${h.ref}`])).toEqual(["psa", "psb", "psc"]);
  expect(h.containr(["ps", "--filter", "colour=blue"]).status).toBe(125);
  h.containr(["rm", "-f", "psa", "psb", "psc"]);
}, 60_000);

test("info and version: Docker's fields, --format templates and json", () => {
  expect(h.containr(["run", "-d", "--name", "counted", h.ref, "sleep", "1000"]).status).toBe(0);
  expect(h.containr(["create", "--name", "counted-created", h.ref, "true"]).status).toBe(0);
  const info = JSON.parse(h.containr(["info", "--format", "json"]).stdout) as Record<string, unknown>;
  expect(info).toMatchObject({ ContainersRunning: 1, Images: 1, Driver: "overlay", LoggingDriver: "json-file", CgroupDriver: "cgroupfs", OSType: "linux", DockerRootDir: h.root });
  expect(info.Containers).toBe((info.ContainersRunning as number) + (info.ContainersStopped as number) + (info.ContainersPaused as number));
  expect(info.SecurityOptions).toContain("name=seccomp,profile=builtin");
  expect(info.NCPU).toBe(navigator.hardwareConcurrency);
  expect(h.containr(["info", "-f", "{{.ContainersRunning}}/{{.Containers}} {{.CgroupVersion}}"]).stdout).toMatch(/^1\/\d+ [12]\n$/);
  const text = h.containr(["info"]).stdout;
  expect(text).toContain("\n  Running: 1\n");
  expect(text).toContain("\n Storage Driver: overlay\n");
  expect(text).toContain("\n Logging Driver: json-file\n");
  expect(text).toMatch(/\n Kernel Version: \S+\n/);

  const version = JSON.parse(h.containr(["version", "--format", "json"]).stdout) as { Client: { Version: string }; Server: { Version: string; Os: string } };
  expect(version.Server.Version).toBe(version.Client.Version);
  expect(version.Server.Os).toBe("linux");
  expect(h.containr(["version", "-f", "{{.Client.Version}}"]).stdout).toBe(`${version.Client.Version}\n`);
  expect(h.containr(["version", "-f", "{{.Nope"]).status).toBe(125);
  h.containr(["rm", "-f", "counted", "counted-created"]);
});

test("run --rm cleans up in the foreground CLI; a CLI killed before the exit leaves it to the monitor", async () => {
  const before = h.containr(["ps", "-aq"]).stdout;
  const quick = h.containr(["run", "--rm", "--name", "quick", h.ref, "sh", "-c", "echo out; exit 4"]);
  expect(quick.status).toBe(4);
  expect(quick.stdout).toBe("out\n");
  expect(h.containr(["ps", "-aq"]).stdout).toBe(before);

  const orphaned = Bun.spawn([...h.argv, "run", "--rm", "--name", "orphaned", h.ref, "sleep", "1"], { stdout: "ignore", stderr: "ignore" });
  await until("the container runs", () => h.containr(["inspect", "-f", "{{.State.Status}}", "orphaned"]).stdout === "running\n");
  orphaned.kill("SIGKILL");
  await orphaned.exited;
  await until("the monitor's exit command removed it", () => h.containr(["inspect", "orphaned"]).status !== 0, 15_000);
  expect(h.containr(["ps", "-aq"]).stdout).toBe(before);
}, 30_000);
