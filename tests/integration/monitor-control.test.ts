/**
 * containr-monitor's side of the spawner (csrc/monitor-spawn.h, ADR 0007),
 * with the real build/containr-monitor and a shell as its create command:
 * the create command gets fds 3 to 5 and the monitor's pid, the init's pid
 * arrives on the control pipe (fd 6), and EOF there without a pid ends the
 * monitor and every child it has.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../helpers/engine-env.ts";

const MONITOR = join(import.meta.dir, "../../build/containr-monitor");

let dir: string;
let spawned: ReturnType<typeof Bun.spawn>[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "containr-monitor-control-"));
});

afterEach(() => {
  for (const proc of spawned) proc.kill(9);
  spawned = [];
  rmSync(dir, { recursive: true, force: true });
});

/** The monitor with the test's stdin pipe as its control fd (6) and extra at fd 3, running `sh -c script @monitor-pid@`. */
function startMonitor(script: string, extra: number | "ignore" = "ignore") {
  const cmd = ["/bin/sh", "-c", 'exec 6<&0 </dev/null; exec "$@"', "sh", MONITOR, "-c", "test", "-d", dir, "--", "/bin/sh", "-c", script, "@monitor-pid@"];
  const proc = Bun.spawn(cmd, { stdio: ["pipe", "ignore", "pipe", extra] });
  spawned.push(proc);
  return proc;
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const gone = (pid: number) => !existsSync(`/proc/${pid}`) || /\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));

test("the create command gets fd 3 as the monitor got it and the monitor's pid; the pid on the control fd is the one whose exit is recorded", async () => {
  const file = join(dir, "given");
  const given = openSync(file, "w");
  const monitor = startMonitor(`readlink /proc/self/fd/3 > ${dir}/fd3; echo "$0" > ${dir}/arg; sleep 0.3; exit 3`, given);
  closeSync(given);
  await until("the create command", () => children(monitor.pid).length === 1);
  const [child] = children(monitor.pid);
  monitor.stdin!.write(`${child}\n`);
  await monitor.stdin!.end();
  expect(await monitor.exited).toBe(0);
  expect(readFileSync(join(dir, "fd3"), "utf8").trim()).toBe(file);
  expect(readFileSync(join(dir, "arg"), "utf8").trim()).toBe(String(monitor.pid));
  expect(JSON.parse(readFileSync(join(dir, "exit.json"), "utf8")).exitCode).toBe(3);
  expect(await new Response(monitor.stderr as ReadableStream).text()).toBe("");
});

test("EOF on the control fd without a pid: the monitor kills its children, removes its attach socket and exits", async () => {
  const monitor = startMonitor("exec sleep 60");
  await until("the create command", () => children(monitor.pid).length === 1 && existsSync(join(dir, "attach")));
  const [child] = children(monitor.pid);
  await monitor.stdin!.end();
  expect(await monitor.exited).toBe(1);
  await until("the create command's end", () => gone(child!));
  expect(existsSync(join(dir, "attach"))).toBe(false);
  expect(existsSync(join(dir, "exit.json"))).toBe(false);
});
