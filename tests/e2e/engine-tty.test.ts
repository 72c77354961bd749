/**
 * -t through a real terminal (tmux): run -it gets a pty from the container's
 * devpts with this terminal's size, follows resizes (SIGWINCH), exits with
 * the shell's status; ctrl-p ctrl-q detaches and `attach` comes back;
 * exec -it; the log of a -t container holds the terminal's output.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startEngineHarness, until, type EngineHarness } from "../helpers/engine-cli.ts";

let h: EngineHarness;
const TMUX = ["tmux", "-L", `containr-e2e-${process.pid}`];

function tmux(...args: string[]): string {
  const res = Bun.spawnSync([...TMUX, ...args], { stdout: "pipe", stderr: "pipe" });
  if (res.exitCode !== 0) throw new Error(`tmux ${args.join(" ")}: ${res.stderr.toString()}`);
  return res.stdout.toString();
}

/** Start a command in a new tmux window of the given size; the shell prints EXIT=status after it. */
function terminal(name: string, columns: number, rows: number, argv: string[]): void {
  const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  tmux("new-session", "-d", "-s", name, "-x", String(columns), "-y", String(rows), `${quoted}; echo EXIT=$?; sleep 60`);
}

const screen = (name: string) => tmux("capture-pane", "-p", "-t", name);

async function waitForScreen(name: string, pattern: RegExp): Promise<void> {
  await until(`${pattern} on the screen`, () => pattern.test(screen(name)), 15_000).catch((err) => {
    throw new Error(`${(err as Error).message}; the screen:\n${screen(name)}`);
  });
}

beforeAll(async () => {
  h = await startEngineHarness("tty");
}, 120_000);

afterAll(async () => {
  Bun.spawnSync([...TMUX, "kill-server"]);
  await h?.close();
});

test("run -it: the terminal's size, a resize, and the exit status", async () => {
  terminal("run", 100, 30, [...h.argv, "run", "-it", "--rm", h.ref, "sh"]);
  await waitForScreen("run", /^\/ #$/m);
  tmux("send-keys", "-t", "run", "stty size; tty; echo $TERM", "Enter");
  await waitForScreen("run", /^30 100\n\/dev\/pts\/0\nxterm$/m);
  tmux("resize-window", "-t", "run", "-x", "120", "-y", "40");
  await Bun.sleep(300);
  tmux("send-keys", "-t", "run", "stty size; exit 5", "Enter");
  await waitForScreen("run", /^40 120\nEXIT=5$/m);
}, 30_000);

test("ctrl-p ctrl-q detaches from run -it; attach comes back", async () => {
  terminal("detach", 80, 24, [...h.argv, "run", "-it", "--name", "detachable", h.ref, "sh"]);
  await waitForScreen("detach", /^\/ #$/m);
  tmux("send-keys", "-t", "detach", "echo before", "Enter");
  await waitForScreen("detach", /^before$/m);
  tmux("send-keys", "-t", "detach", "C-p", "C-q");
  await waitForScreen("detach", /EXIT=0$/m);
  expect(h.containr(["inspect", "-f", "{{.State.Status}}", "detachable"]).stdout).toBe("running\n");

  terminal("attach", 90, 25, [...h.argv, "attach", "detachable"]);
  await Bun.sleep(1000);
  tmux("send-keys", "-t", "attach", "stty size; exit 7", "Enter");
  await waitForScreen("attach", /^25 90\nEXIT=7$/m);
  expect(h.containr(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "detachable"]).stdout).toBe("exited 7\n");
  // what the terminal showed is in the log, as stdout
  const logs = h.containr(["logs", "detachable"]);
  expect(logs.stdout).toContain("before\r\n");
  expect(logs.stderr).toBe("");
}, 30_000);

test("exec -it gets its own terminal", async () => {
  expect(h.containr(["run", "-d", "--name", "execbox", h.ref, "sleep", "1000"]).status).toBe(0);
  terminal("exec", 70, 20, [...h.argv, "exec", "-it", "execbox", "sh"]);
  await waitForScreen("exec", /^\/ #$/m);
  tmux("send-keys", "-t", "exec", "stty size; test -t 0 && echo on-a-tty; exit 4", "Enter");
  await waitForScreen("exec", /^20 70\non-a-tty\nEXIT=4$/m);
}, 30_000);

test("run -t without a terminal here: output comes through the pty, lines end in CRLF", () => {
  const run = h.containr(["run", "--rm", "-t", h.ref, "sh", "-c", "test -t 1 && echo tty-out"]);
  expect(run.status).toBe(0);
  expect(run.stdout).toBe("tty-out\r\n");
});
