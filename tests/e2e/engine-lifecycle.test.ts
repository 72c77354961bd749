/**
 * The engine's container lifecycle, from the compiled binary, with an image
 * pulled from a real docker-registry on 127.0.0.1: run -d → ps → logs -f →
 * stop → rm, Docker's exit codes, --rm leaving nothing, the restart policy,
 * a SIGKILLed monitor, the json-file log and its rotation, the monitor's RSS.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { processesMentioning, startEngineHarness, until, type EngineHarness } from "../helpers/engine-cli.ts";

let h: EngineHarness;
const containr = (args: string[], stdin?: string) => h.containr(args, stdin);
const inspect = (name: string, format: string) => containr(["inspect", "-f", format, name]).stdout.trim();
/** Every process whose cmdline mentions this test's run root (monitors, containers' helpers). */
const processesOfThisTest = () => processesMentioning(h.runroot);

beforeAll(async () => {
  h = await startEngineHarness("engine");
}, 120_000);

afterAll(async () => {
  await h?.close();
});

test("run -d → ps → logs -f → stop → rm", async () => {
  const run = containr(["run", "-d", "--name", "web", h.ref, "sh", "-c", "echo started; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"]);
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  const id = run.stdout.trim();
  expect(id).toMatch(/^[0-9a-f]{64}$/);

  const ps = containr(["ps"]);
  expect(ps.stdout.split("\n")[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
  expect(ps.stdout).toContain(id.slice(0, 12));
  expect(containr(["ps", "--format", "{{.Names}} {{.State}}"]).stdout).toBe("web running\n");
  expect(Number(inspect("web", "{{.State.Pid}}"))).toBeGreaterThan(0);

  await until("two ticks in the log", () => containr(["logs", "web"]).stdout.includes("tick 2"));
  expect(containr(["logs", "web"]).stdout.startsWith("started\ntick 0\n")).toBe(true);
  expect(containr(["logs", "--tail", "1", "web"]).stdout).toMatch(/^tick \d+\n$/);

  // logs -f follows until the container stops
  const follow = Bun.spawn([...h.argv, "logs", "-f", "web"], { stdout: "pipe", stderr: "pipe" });
  await Bun.sleep(500);
  const stop = containr(["stop", "-t", "1", "web"]);
  expect(stop.status).toBe(0);
  expect(stop.stdout).toBe("web\n");
  const followed = await new Response(follow.stdout).text();
  expect(await follow.exited).toBe(0);
  expect(followed).toContain("tick 5");

  // sh as pid 1 ignores SIGTERM: the stop ends in SIGKILL
  expect(inspect("web", "{{.State.Status}} {{.State.ExitCode}}")).toBe("exited 137");
  expect(containr(["ps", "-a", "--format", "{{.Status}}"]).stdout).toMatch(/^Exited \(137\) /);
  expect(containr(["rm", "web"]).status).toBe(0);
  expect(containr(["ps", "-aq"]).stdout).toBe("");
  expect(existsSync(join(h.root, "containers", id))).toBe(false);
}, 60_000);

test("exit codes: the container's own, 125 engine error, 126 cannot execute, 127 not found", () => {
  expect(containr(["run", "--rm", h.ref, "true"]).status).toBe(0);
  expect(containr(["run", "--rm", h.ref, "sh", "-c", "exit 1"]).status).toBe(1);
  expect(containr(["run", "--rm", h.ref, "sh", "-c", "exit 3"]).status).toBe(3);
  const out = containr(["run", "--rm", h.ref, "sh", "-c", "echo to-stdout; echo to-stderr >&2"]);
  expect(out.stdout).toBe("to-stdout\n");
  expect(out.stderr).toBe("to-stderr\n");

  const missing = containr(["run", "--rm", h.ref, "no-such-command"]);
  expect(missing.status).toBe(127);
  expect(missing.stderr).toContain("no-such-command");
  const notExecutable = containr(["run", "--rm", h.ref, "/etc/passwd"]);
  expect(notExecutable.status).toBe(126);
  expect(containr(["run", "--rm", "--memory", "lots", h.ref, "true"]).status).toBe(125);
  expect(containr(["run", "--rm", "--cpus", "abc", h.ref, "true"]).status).toBe(125);
  const noImage = containr(["run", "--rm", `${h.ref.split("/")[0]}/e2e/none:latest`, "true"]);
  expect(noImage.status).toBe(125);
  // a failed run leaves nothing behind
  expect(containr(["ps", "-aq"]).stdout).toBe("");
});

test("137 for a container killed with SIGKILL; kill -s; wait prints the code", async () => {
  const id = containr(["run", "-d", h.ref, "sleep", "60"]).stdout.trim();
  const waiter = Bun.spawn([...h.argv, "wait", id], { stdout: "pipe" });
  expect(containr(["kill", "-s", "KILL", id]).status).toBe(0);
  expect(await new Response(waiter.stdout).text()).toBe("137\n");
  expect(inspect(id, "{{.State.ExitCode}}")).toBe("137");
  expect(containr(["rm", id]).status).toBe(0);

  const fg = Bun.spawn([...h.argv, "run", "--rm", "--name", "fg", h.ref, "sleep", "60"], { stdout: "pipe" });
  await until("fg running", () => inspect("fg", "{{.State.Status}}") === "running");
  containr(["kill", "fg"]);
  expect(await fg.exited).toBe(137);
});

test("--rm leaves nothing: no record, mount, cgroup, run directory or process", () => {
  const id = containr(["create", "--rm", "--name", "gone", h.ref, "sh", "-c", "echo bye"]).stdout.trim();
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  const run = containr(["start", "-a", "gone"]);
  expect(run.status).toBe(0);
  expect(run.stdout).toBe("bye\n");
  expect(containr(["ps", "-a", "--filter", "name=gone", "-q"]).stdout).toBe("");
  expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(id);
  expect(existsSync(join(h.root, "containers", id))).toBe(false);
  expect(existsSync(join(h.runroot, "containers", id))).toBe(false);
  expect(existsSync(join(h.runroot, "runtime", id))).toBe(false);
  for (const controller of readdirSync("/sys/fs/cgroup")) {
    expect(existsSync(join("/sys/fs/cgroup", controller, "containr", id))).toBe(false);
  }
  expect(processesMentioning(id)).toEqual([]);
});

test("restart=on-failure:3 restarts three times and stops", async () => {
  const id = containr(["run", "-d", "--restart", "on-failure:3", h.ref, "sh", "-c", "echo run; exit 3"]).stdout.trim();
  await until("three restarts and a final exit", () => inspect(id, "{{.RestartCount}} {{.State.Status}}") === "3 exited", 30_000);
  await Bun.sleep(500);
  expect(inspect(id, "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}")).toBe("3 exited 3");
  expect(containr(["logs", id]).stdout).toBe("run\nrun\nrun\nrun\n");
  expect(containr(["rm", id]).status).toBe(0);
}, 60_000);

test("a SIGKILLed monitor: a live container shows running, a dead one exited; rm works", async () => {
  const id = containr(["run", "-d", h.ref, "sleep", "60"]).stdout.trim();
  const monitors = () => processesOfThisTest().filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("containr-monitor"));
  const [monitor] = monitors();
  expect(monitor).toBeDefined();
  process.kill(monitor as number, "SIGKILL");
  await until("monitor gone", () => !existsSync(`/proc/${monitor}`) || readFileSync(`/proc/${monitor}/stat`, "utf8").includes(") Z"));
  expect(inspect(id, "{{.State.Status}}")).toBe("running");
  const pid = Number(inspect(id, "{{.State.Pid}}"));
  process.kill(pid, "SIGKILL");
  await until("container reported exited", () => inspect(id, "{{.State.Status}}") === "exited");
  expect(inspect(id, "{{.State.ExitCode}}")).toBe("255");
  expect(containr(["ps", "-a", "--format", "{{.Status}}"]).stdout).toMatch(/^Exited \(255\)/);
  const rm = containr(["rm", id]);
  expect(rm.stderr).toBe("");
  expect(rm.status).toBe(0);
  expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(join(h.root, "containers", id));
}, 30_000);

test("rm of a running container needs -f; names are unique; unknown containers", () => {
  const id = containr(["run", "-d", "--name", "busy", h.ref, "sleep", "60"]).stdout.trim();
  const rm = containr(["rm", "busy"]);
  expect(rm.status).toBe(125);
  expect(rm.stderr).toContain("Stop the container before attempting removal or force remove");
  const dup = containr(["run", "-d", "--name", "busy", h.ref, "true"]);
  expect(dup.status).toBe(125);
  expect(dup.stderr).toContain('The container name "/busy" is already in use');
  expect(containr(["rm", "-f", "busy"]).status).toBe(0);
  expect(existsSync(join(h.root, "containers", id))).toBe(false);
  const none = containr(["stop", "nosuch"]);
  expect(none.status).toBe(125);
  expect(none.stderr).toContain("No such container: nosuch");
});

test("json-file log lines and rotation by size", async () => {
  const id = containr([
    "run", "-d", "--log-opt", "max-size=2k", "--log-opt", "max-file=2", h.ref,
    "sh", "-c", "echo out; echo err >&2; printf 'no newline'; sleep 0.2; i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done",
  ]).stdout.trim();
  expect(containr(["wait", id]).stdout).toBe("0\n");
  const logPath = inspect(id, "{{.LogPath}}");
  const rotated = readFileSync(`${logPath}.1`, "utf8").split("\n").filter(Boolean);
  const current = readFileSync(logPath, "utf8").split("\n").filter(Boolean);
  expect(existsSync(`${logPath}.2`)).toBe(false);
  expect(readFileSync(logPath).length).toBeLessThanOrEqual(2048);
  for (const line of [...rotated, ...current]) {
    const entry = JSON.parse(line);
    expect(Object.keys(entry)).toEqual(["log", "stream", "time"]);
    expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  }
  expect(current.at(-1)).toContain('"log":"line-199\\n","stream":"stdout"');
  const all = containr(["logs", id]);
  expect(all.stdout.endsWith("line-198\nline-199\n")).toBe(true);
  const stamped = containr(["logs", "-t", "--tail", "1", id]).stdout;
  expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line-199\n$/);
  containr(["rm", id]);

  const small = containr(["run", "-d", h.ref, "sh", "-c", "echo out; echo '<&>' >&2; printf 'partial'"]).stdout.trim();
  containr(["wait", small]);
  const lines = readFileSync(inspect(small, "{{.LogPath}}"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  // order holds within a stream; stdout and stderr are two pipes, read as data arrives (as Docker's)
  const stream = (name: string) => lines.filter((l) => l.stream === name).map((l) => l.log);
  expect(stream("stdout")).toEqual(["out\n", "partial"]);
  expect(stream("stderr")).toEqual(["<&>\n"]);
  expect(lines).toHaveLength(3);
  expect(readFileSync(inspect(small, "{{.LogPath}}"), "utf8")).toContain("\\u003c\\u0026\\u003e");
  containr(["rm", small]);
});

test("logs -f loses no line when the log rotates under it", async () => {
  // 3000 lines in bursts of 300 (about 20 kB) into 40 kB files: rotations while a burst is still unread
  const id = containr([
    "run", "-d", "--log-opt", "max-size=40k", "--log-opt", "max-file=10", h.ref,
    "sh", "-c", "sleep 0.5; i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); [ $((i % 300)) = 0 ] && sleep 0.05; done; sleep 0.3",
  ]).stdout.trim();
  const follow = Bun.spawn([...h.argv, "logs", "-f", id], { stdout: "pipe", stderr: "pipe" });
  const followed = (await new Response(follow.stdout).text()).split("\n").filter(Boolean);
  expect(await follow.exited).toBe(0);
  expect(existsSync(`${inspect(id, "{{.LogPath}}")}.2`)).toBe(true);
  expect(followed).toEqual(Array.from({ length: 3000 }, (_, i) => `line-${i}`));
  containr(["rm", id]);
}, 30_000);

test("the monitor's resident memory stays small", () => {
  const id = containr(["run", "-d", h.ref, "sleep", "60"]).stdout.trim();
  const monitor = processesOfThisTest().find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("containr-monitor"));
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${monitor}/status`, "utf8"))?.[1]);
  console.error(`containr-monitor VmRSS: ${rssKb} kB`);
  expect(rssKb).toBeGreaterThan(0);
  expect(rssKb).toBeLessThanOrEqual(2048);
  containr(["rm", "-f", id]);
});

test("run -i feeds stdin; inspect is Docker-shaped", () => {
  const run = containr(["run", "--rm", "-i", h.ref, "sh", "-c", "cat; echo done"], "piped input\n");
  expect(run.stdout).toBe("piped input\ndone\n");
  const id = containr(["create", "--name", "shape", "-e", "A=1", "-l", "team=x", h.ref, "echo", "hi"]).stdout.trim();
  const [info] = JSON.parse(containr(["inspect", "shape"]).stdout);
  expect(info.Id).toBe(id);
  expect(info.Name).toBe("/shape");
  expect(info.State.Status).toBe("created");
  expect(info.Config.Env).toContain("A=1");
  expect(info.Config.Labels).toEqual({ team: "x" });
  expect(info.Path).toBe("echo");
  expect(info.Args).toEqual(["hi"]);
  expect(containr(["ps", "-a", "--filter", "label=team=x", "--format", "{{.Names}}"]).stdout).toBe("shape\n");
  expect(containr(["start", "-a", "shape"]).stdout).toBe("hi\n");
  expect(inspect("shape", "{{.State.Status}} {{.State.ExitCode}}")).toBe("exited 0");
  containr(["rm", "shape"]);
});
