/**
 * The operator's commands from the compiled binary: stats, top, cp both
 * ways (and its refusal to write through a symlink that leaves the root),
 * diff, rename, pause/unpause, port, container prune, system df and prune.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { engineEnv, type EngineEnv } from "../helpers/engine-env.ts";

let env: EngineEnv;

beforeAll(async () => {
  env = await engineEnv("ops", { files: { "etc/motd": "hello from the image\n" } });
}, 120_000);

afterAll(async () => {
  await env?.cleanUp();
});

test("stats --no-stream shows a 64 MiB limit for --memory 64m; --format json; a stopped container with --all", () => {
  const { containr, ref } = env;
  const id = containr(["run", "-d", "--name", "capped", "--network", "none", "--memory", "64m", ref, "sh", "-c", "while :; do :; done"]).stdout.trim();
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  const table = containr(["stats", "--no-stream", "capped"]);
  expect(table.status).toBe(0);
  const [header, row] = table.stdout.split("\n");
  expect(header).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
  expect(row).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+capped\\s+\\d+\\.\\d\\d%\\s+\\S+ / 64MiB\\s+\\d+\\.\\d\\d%\\s+0B / 0B\\s+\\S+ / \\S+\\s+1$`));
  // a busy loop: the CPU % from two samples is well above zero
  const json = JSON.parse(containr(["stats", "--no-stream", "--format", "json", "capped"]).stdout);
  expect(json).toMatchObject({ Name: "capped", ID: id.slice(0, 12), PIDs: "1", NetIO: "0B / 0B" });
  expect(json.MemUsage).toEndWith(" / 64MiB");
  expect(Number.parseFloat(json.CPUPerc)).toBeGreaterThan(20);
  expect(containr(["stop", "-t", "0", "capped"]).status).toBe(0);
  expect(containr(["stats", "--no-stream", "--all", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}}"]).stdout).toContain("capped -- -- / --\n");
  expect(containr(["rm", "capped"]).status).toBe(0);
}, 30_000);

test("stats streams a redrawn table until interrupted", async () => {
  const { containr, ref, argv } = env;
  containr(["run", "-d", "--name", "streamed", ref, "sleep", "60"]);
  const live = Bun.spawn(argv(["stats", "--format", "{{.Name}} {{.PIDs}}"]), { stdout: "pipe" });
  await Bun.sleep(2500);
  live.kill("SIGINT");
  const out = await new Response(live.stdout).text();
  expect(await live.exited).toBe(0);
  expect(out.split("\x1b[2J\x1b[H").filter((frame) => frame.includes("streamed 1\n")).length).toBeGreaterThanOrEqual(2);
  containr(["rm", "-f", "streamed"]);
}, 30_000);

test("top lists the container's processes with host pids, as ps -ef shows them; ps options pass through", () => {
  const { containr, ref, inspect } = env;
  containr(["run", "-d", "--name", "busy", ref, "sh", "-c", "sleep 1000 & sleep 2000; echo done"]);
  const pid = inspect("busy", "{{.State.Pid}}");
  const top = containr(["top", "busy"]);
  expect(top.status).toBe(0);
  const lines = top.stdout.trim().split("\n");
  expect(lines[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
  expect(lines.length).toBe(4);
  expect(top.stdout).toMatch(new RegExp(`^root\\s+${pid}\\s+\\d+\\s+.*sh -c sleep 1000 & sleep 2000; echo done$`, "m"));
  expect(top.stdout).toMatch(/sleep 1000$/m);
  expect(top.stdout).toMatch(/sleep 2000$/m);
  const custom = containr(["top", "busy", "-o", "pid,comm"]);
  expect(custom.stdout.split("\n")[0]).toMatch(/^PID\s+COMMAND$/);
  expect(custom.stdout).toContain(`${pid} `);
  expect(containr(["top", "busy", "-o", "comm"]).stderr).toContain("Couldn't find PID field in ps output");
});

test("pause and unpause freeze and thaw the container", async () => {
  const { containr, inspect } = env;
  expect(containr(["pause", "busy"]).stdout).toBe("busy\n");
  expect(inspect("busy", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}")).toBe("paused true true");
  const pid = inspect("busy", "{{.State.Pid}}");
  expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/^State:\s+[DS]/m);
  expect(containr(["pause", "busy"]).stderr).toContain("is already paused");
  expect(containr(["unpause", "busy"]).stdout).toBe("busy\n");
  expect(inspect("busy", "{{.State.Status}} {{.State.Paused}}")).toBe("running false");
  expect(containr(["unpause", "busy"]).stderr).toContain("is not paused");
});

test("a paused container is listed by ps, and stop and rm -f end it (its frozen processes are thawed)", () => {
  const { containr, ref } = env;
  for (const [name, command] of [
    ["frozen-stop", ["stop", "-t", "1", "frozen-stop"]],
    ["frozen-rm", ["rm", "-f", "frozen-rm"]],
  ] as const) {
    expect(containr(["run", "-d", "--name", name, ref, "sleep", "300"]).status).toBe(0);
    expect(containr(["pause", name]).status).toBe(0);
    expect(containr(["ps", "--filter", `name=${name}`, "--format", "{{.Names}} {{.Status}}"]).stdout).toMatch(new RegExp(`^${name} Up .* \\(Paused\\)\n$`));
    const started = Date.now();
    const ended = containr([...command]);
    expect(ended.stderr).toBe("");
    expect(ended.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(8_000); // not the 30 s "did not stop" timeout
  }
  expect(containr(["ps", "-a", "--filter", "name=frozen-stop", "--format", "{{.Status}}"]).stdout).toStartWith("Exited (137)");
  expect(containr(["ps", "-aq", "--filter", "name=frozen-rm"]).stdout).toBe("");
  containr(["rm", "frozen-stop"]);
});

test("rename, port", () => {
  const { containr } = env;
  expect(containr(["rename", "busy", "renamed"]).status).toBe(0);
  expect(containr(["ps", "--format", "{{.Names}}", "--filter", "name=renamed"]).stdout).toBe("renamed\n");
  expect(containr(["rename", "renamed", "renamed"]).stderr).toContain("Renaming a container with the same name as its current name");
  expect(containr(["port", "renamed"]).stdout).toBe("");
  expect(containr(["port", "renamed", "80"]).stderr).toContain("No public port '80/tcp' published for renamed");
  expect(containr(["port", "nosuch"]).status).toBe(125);
});

test("cp a file in and out, directories with -a, tar streams with -", () => {
  const { containr, ref, work } = env;
  const host = join(work, "cp");
  mkdirSync(join(host, "tree/sub"), { recursive: true });
  writeFileSync(join(host, "in.txt"), "from the host\n");
  writeFileSync(join(host, "tree/sub/deep.txt"), "deep\n");
  expect(containr(["cp", join(host, "in.txt"), "renamed:/tmp/"]).status).toBe(0);
  expect(containr(["cp", join(host, "in.txt"), "renamed:/tmp/renamed.txt"]).status).toBe(0);
  expect(containr(["cp", join(host, "tree"), "renamed:/tmp"]).status).toBe(0);
  expect(containr(["logs", "renamed"]).status).toBe(0);

  // out again, from the running container
  expect(containr(["cp", "renamed:/tmp/in.txt", join(host, "back.txt")]).status).toBe(0);
  expect(readFileSync(join(host, "back.txt"), "utf8")).toBe("from the host\n");
  expect(containr(["cp", "renamed:/tmp/tree", join(host, "tree-back")]).status).toBe(0);
  expect(readFileSync(join(host, "tree-back/sub/deep.txt"), "utf8")).toBe("deep\n");
  expect(containr(["cp", "renamed:/etc/motd", host]).status).toBe(0);
  expect(readFileSync(join(host, "motd"), "utf8")).toBe("hello from the image\n");

  // a tar stream out and back in
  const tar = Bun.spawnSync(env.argv(["cp", "renamed:/tmp/tree", "-"]), { stdout: "pipe" });
  expect(tar.exitCode).toBe(0);
  const listing = Bun.spawnSync(["tar", "-t"], { stdin: tar.stdout, stdout: "pipe" }).stdout.toString();
  expect(listing.split("\n")).toContain("tree/sub/deep.txt");
  expect(containr(["cp", "-", "renamed:/srv"], { stdin: tar.stdout }).status).toBe(0);
  expect(containr(["cp", "renamed:/srv/tree/sub/deep.txt", join(host, "via-tar.txt")]).status).toBe(0);
  expect(readFileSync(join(host, "via-tar.txt"), "utf8")).toBe("deep\n");

  // a stopped container: through its root filesystem
  const stopped = containr(["create", "--name", "cold", ref, "true"]).stdout.trim();
  expect(stopped).toMatch(/^[0-9a-f]{64}$/);
  expect(containr(["cp", join(host, "in.txt"), "cold:/in.txt"]).status).toBe(0);
  expect(containr(["cp", "cold:/in.txt", join(host, "cold.txt")]).status).toBe(0);
  expect(readFileSync(join(host, "cold.txt"), "utf8")).toBe("from the host\n");
  expect(containr(["diff", "cold"]).stdout).toBe("A /in.txt\n");
});

test("cp refuses to write through a symlink that points outside the root; a missing path is Docker's error", () => {
  const { containr, work } = env;
  const outside = join(work, "outside");
  mkdirSync(outside);
  // relative, climbing out: refused
  const planted = containr(["cp", "-", "renamed:/tmp"], { stdin: linkTar("escape", `../../../../../../../../..${outside}`) });
  expect(planted.status).toBe(0);
  writeFileSync(join(work, "payload"), "payload\n");
  const refused = containr(["cp", join(work, "payload"), "renamed:/tmp/escape/payload"]);
  expect(refused.status).toBe(125);
  expect(refused.stderr).toContain("points outside the container's root");
  expect(existsSync(join(outside, "payload"))).toBe(false);
  // absolute: resolved inside the container, as the container sees it
  expect(containr(["cp", "-", "renamed:/tmp"], { stdin: linkTar("abs", outside) }).status).toBe(0);
  const inside = containr(["cp", join(work, "payload"), "renamed:/tmp/abs/"]);
  expect(inside.status).toBe(125);
  expect(existsSync(join(outside, "payload"))).toBe(false);

  const missing = containr(["cp", join(work, "payload"), "renamed:/no/such/dir/file"]);
  expect(missing.status).toBe(125);
  expect(missing.stderr).toContain("Could not find the file /no/such/dir in container renamed");
  const missingOut = containr(["cp", "renamed:/no/such", join(work, "x")]);
  expect(missingOut.stderr).toContain("Could not find the file /no/such in container renamed");
  expect(existsSync(join(work, "x"))).toBe(false);
});

/** A tar holding one symlink NAME -> TARGET (made with GNU tar). */
function linkTar(name: string, target: string): Uint8Array {
  const dir = join(env.work, `link-${name}`);
  mkdirSync(dir);
  Bun.spawnSync(["ln", "-s", target, join(dir, name)]);
  return Bun.spawnSync(["tar", "-C", dir, "-c", name], { stdout: "pipe" }).stdout;
}

test("diff lists A, C and D from the upper layer", () => {
  const { containr, ref } = env;
  containr(["run", "--name", "changer", ref, "sh", "-c", "echo new > /etc/added; echo changed >> /etc/motd; rm /bin/true 2>/dev/null || rm /bin/busybox-unused 2>/dev/null; rm -f /etc/motd.bak; mkdir /newdir"]);
  const diff = containr(["diff", "changer"]).stdout;
  expect(diff).toContain("C /etc\n");
  expect(diff).toContain("A /etc/added\n");
  expect(diff).toContain("C /etc/motd\n");
  expect(diff).toContain("A /newdir\n");
  expect(containr(["run", "--name", "deleter", ref, "rm", "/etc/motd"]).status).toBe(0);
  expect(containr(["diff", "deleter"]).stdout).toBe("C /etc\nD /etc/motd\n");
});

test("container prune, system df and system prune", () => {
  const { containr } = env;
  const df = containr(["system", "df"]).stdout.split("\n");
  expect(df[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
  expect(df[1]).toMatch(/^Images\s+1\s+1\s+/);
  expect(df[2]).toMatch(/^Containers\s+4\s+1\s+/);
  expect(df[3]).toMatch(/^Local Volumes\s+0\s+0\s+0B\s+0B$/);
  const prune = containr(["container", "prune", "-f"]);
  expect(prune.stdout).toMatch(/^Deleted Containers:\n([0-9a-f]{64}\n){3}\nTotal reclaimed space: /);
  expect(containr(["ps", "-a", "--format", "{{.Names}}"]).stdout).toBe("renamed\n");
  containr(["rm", "-f", "renamed"]);
  const system = containr(["system", "prune", "-a", "--volumes", "-f"]);
  expect(system.status).toBe(0);
  expect(system.stdout).toContain("Deleted Images:\n");
  expect(containr(["images", "-q"]).stdout).toBe("");
});
