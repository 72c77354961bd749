/**
 * `exec` from the compiled binary: the process runs in the container's
 * namespaces with its env, -e/-u/-w/-i/-d change it as Docker's do, and the
 * exit statuses are the process's own, 126 and 127.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startEngineHarness, until, type EngineHarness } from "../helpers/engine-cli.ts";

let h: EngineHarness;

beforeAll(async () => {
  h = await startEngineHarness("exec");
  const run = h.containr(["run", "-d", "--name", "box", "-e", "FROM_RUN=1", h.ref, "sleep", "1000"]);
  expect(run.status).toBe(0);
}, 120_000);

afterAll(async () => {
  await h?.close();
});

test("exec runs in the container, with its env and the exit status of the process", () => {
  const out = h.containr(["exec", "box", "sh", "-c", "echo $FROM_RUN; hostname; cat /proc/1/cmdline | tr '\\0' ' '; exit 3"]);
  expect(out.status).toBe(3);
  const [fromRun, hostname, pid1] = out.stdout.split("\n");
  expect(fromRun).toBe("1");
  expect(hostname).toBe(h.containr(["inspect", "-f", "{{.Id}}", "box"]).stdout.trim().slice(0, 12));
  expect(pid1).toBe("sleep 1000 ");
});

test("exec -e, -u NAME, -w, and HOME of the user", () => {
  const out = h.containr(["exec", "-e", "A=b", "-u", "alice", "-w", "/tmp", "box", "sh", "-c", "echo $A; id -u; id -G; pwd; echo $HOME"]);
  expect(out.stderr).toBe("");
  expect(out.stdout).toBe("b\n1000\n1000\n/tmp\n/home/alice\n");
  expect(h.containr(["exec", "-u", "1000:0", "box", "id", "-g"]).stdout).toBe("0\n");
  const unknown = h.containr(["exec", "-u", "bob", "box", "true"]);
  expect(unknown.status).toBe(125);
  expect(unknown.stderr).toContain("unable to find user bob");
});

test("exec reads stdin only with -i", () => {
  expect(h.containr(["exec", "-i", "box", "cat"], "piped\n").stdout).toBe("piped\n");
  // without -i the process reads end of input at once, even when our stdin has data
  expect(h.containr(["exec", "box", "cat"], "ignored\n").stdout).toBe("");
});

test("exec -d leaves the process running and returns at once", async () => {
  const out = h.containr(["exec", "-d", "box", "sh", "-c", "sleep 0.3; touch /tmp/detached-done"]);
  expect(out.status).toBe(0);
  await until("the detached process ran", () => h.containr(["exec", "box", "test", "-e", "/tmp/detached-done"]).status === 0, 10_000);
});

test("exec exit statuses: 127 not found, 126 not executable, 125 no such or stopped container", () => {
  const missing = h.containr(["exec", "box", "no-such-command"]);
  expect(missing.status).toBe(127);
  expect(missing.stderr).toContain("executable file not found");
  expect(h.containr(["exec", "box", "/etc/passwd"]).status).toBe(126);
  const nosuch = h.containr(["exec", "nosuch", "true"]);
  expect(nosuch.status).toBe(125);
  expect(nosuch.stderr).toContain("No such container: nosuch");
  expect(h.containr(["create", "--name", "idle", h.ref, "true"]).status).toBe(0);
  const stopped = h.containr(["exec", "idle", "true"]);
  expect(stopped.status).toBe(125);
  expect(stopped.stderr).toContain("is not running");
});
