/**
 * The cgroup manager on this host's real cgroups (root; v1 controllers
 * plus cgroup2 at /sys/fs/cgroup/unified): limits land in the kernel's
 * files, processes land in the cgroups and are held by them.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { cgroupManagerFor, detectCgroupMode, type CgroupManager } from "../../src/linux/cgroups/index.ts";
import { errorOf } from "../helpers/errors.ts";

const MiB = 1024 * 1024;
const PARENT = "containr-test-cg";
const isRoot = process.getuid?.() === 0;
const hasCgroups = existsSync("/proc/self/mountinfo") && readFileSync("/proc/self/mountinfo", "utf8").includes(" - cgroup");

const managers: CgroupManager[] = [];
const children: Bun.Subprocess[] = [];
let counter = 0;

function newManager(): CgroupManager {
  const m = cgroupManagerFor({ containerId: "unused", cgroupsPath: `/${PARENT}/c${process.pid}-${counter++}` });
  managers.push(m);
  return m;
}

function spawn(cmd: string[], stdin: "pipe" | "ignore" = "ignore"): Bun.Subprocess<"pipe" | "ignore", "ignore", "pipe"> {
  const child = Bun.spawn(cmd, { stdin, stdout: "ignore", stderr: "pipe" });
  children.push(child);
  return child;
}

/** A shell that runs script only once it is in m's cgroup (it waits for a line on stdin). */
function spawnShellIn(m: CgroupManager, script: string): Bun.Subprocess<"pipe" | "ignore", "ignore", "pipe"> {
  const shell = spawn(["sh", "-c", `read go; ${script}`], "pipe");
  m.addProcess(shell.pid);
  const stdin = shell.stdin as import("bun").FileSink;
  stdin.write("go\n");
  stdin.flush();
  return shell;
}

const procCgroup = (pid: number) => readFileSync(`/proc/${pid}/cgroup`, "utf8");
const stat = (pid: number) => readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
/** user+system CPU ticks of a process */
const cpuTicks = (pid: number) => Number(stat(pid)[11]) + Number(stat(pid)[12]);

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill(9);
    await child.exited;
  }
  for (const m of managers.splice(0)) {
    // Grandchildren (a shell's sleeps) are not in `children`: kill through the cgroup.
    try {
      m.killAll(9);
    } catch {
      // never created, or already gone
    }
    m.destroy();
  }
});

afterAll(() => {
  for (const h of readdirSync("/sys/fs/cgroup")) {
    const dir = join("/sys/fs/cgroup", h, PARENT);
    if (existsSync(dir)) rmdirSync(dir);
  }
});

describe.skipIf(!isRoot || !hasCgroups)("cgroups on this host", () => {
  test("the layout is detected from mountinfo", () => {
    const mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
    const expected = / \/sys\/fs\/cgroup rw.* - cgroup2 /.test(mountinfo) ? "v2" : mountinfo.includes("/sys/fs/cgroup/unified ") ? "hybrid" : "v1";
    expect(detectCgroupMode()).toBe(expected);
  });

  test("limits land in the kernel's files and a process lands in every hierarchy", async () => {
    const m = newManager();
    m.create({ memory: { limit: 64 * MiB }, cpu: { quota: 20000, period: 100000, cpus: "0" }, pids: { limit: 20 } });
    const paths = m.paths();
    expect(readFileSync(join(paths.memory as string, "memory.limit_in_bytes"), "utf8").trim()).toBe(String(64 * MiB));
    expect(readFileSync(join(paths.cpu as string, "cpu.cfs_quota_us"), "utf8").trim()).toBe("20000");
    expect(readFileSync(join(paths.cpu as string, "cpu.cfs_period_us"), "utf8").trim()).toBe("100000");
    expect(readFileSync(join(paths.cpuset as string, "cpuset.cpus"), "utf8").trim()).toBe("0");
    expect(readFileSync(join(paths.pids as string, "pids.max"), "utf8").trim()).toBe("20");

    const sleeper = spawn(["sleep", "30"]);
    m.addProcess(sleeper.pid);
    const own = procCgroup(sleeper.pid);
    const suffix = paths.memory?.slice("/sys/fs/cgroup/memory".length) as string;
    for (const c of ["memory", "cpu", "cpuset", "pids", "freezer"]) expect(own).toMatch(new RegExp(`^\\d+:([^:]*,)?${c}(,[^:]*)?:${suffix}$`, "m"));
    if (m.unifiedPath()) expect(own).toContain(`0::${suffix}\n`);
    expect(m.pids()).toEqual([sleeper.pid]);
    // The task is pinned to CPU 0 by the cpuset.
    expect(readFileSync(`/proc/${sleeper.pid}/status`, "utf8")).toMatch(/^Cpus_allowed_list:\s+0$/m);
    const stats = m.stats();
    expect(stats.memory?.limit).toBe(64 * MiB);
    expect(stats.pids).toEqual({ current: 1, limit: 20 });
  });

  test("a pids limit of 5 stops a shell's fork loop", async () => {
    const m = newManager();
    m.create({ pids: { limit: 5 } });
    const shell = spawnShellIn(m, "i=0; while [ $i -lt 10 ]; do sleep 30 >/dev/null 2>&1 & i=$((i+1)); done; echo all forked >&2");
    // A failed fork is fatal to a non-interactive sh: it exits, complaining.
    const status = await Promise.race([shell.exited, Bun.sleep(3000).then(() => "still running")]);
    expect(status).not.toBe(0);
    expect(status).not.toBe("still running");
    const stderr = await new Response(shell.stderr).text();
    expect(stderr).toMatch(/fork/i);
    expect(stderr).not.toContain("all forked");
    const dir = m.paths().pids as string;
    expect(readFileSync(join(dir, "pids.events"), "utf8")).toMatch(/^max [1-9]/m);
    expect(m.pids().length).toBe(4); // the sleeps that fit under the limit, the shell gone
    m.killAll(9);
    await until("the cgroup to empty", () => m.pids().length === 0);
  });

  test("freeze stops the processes, thaw lets them run again", async () => {
    const m = newManager();
    m.create(undefined);
    const spinner = spawn(["sh", "-c", "while :; do :; done"]);
    m.addProcess(spinner.pid);
    m.freeze();
    const frozenAt = cpuTicks(spinner.pid);
    await Bun.sleep(300);
    expect(cpuTicks(spinner.pid)).toBe(frozenAt);
    if (m.paths().freezer) {
      expect(readFileSync(join(m.paths().freezer as string, "freezer.state"), "utf8").trim()).toBe("FROZEN");
      expect(stat(spinner.pid)[0]).toBe("D"); // v1 freezer: the task sleeps in the refrigerator
    }
    m.thaw();
    await until("the thawed process to use CPU", () => cpuTicks(spinner.pid) > frozenAt, 3000);
  });

  test("killAll signals every process, also ones forked later, and destroy leaves nothing", async () => {
    const m = newManager();
    m.create({ pids: { limit: 50 } });
    const shell = spawnShellIn(m, "sleep 30 & sleep 30 & sleep 30 & wait");
    await until("the children", () => m.pids().length === 4);
    m.killAll(15);
    await until("every process to exit", () => m.pids().length === 0);
    expect(await shell.exited).not.toBe(0);
    const paths = Object.values(m.paths());
    m.destroy();
    for (const p of paths) expect(existsSync(p)).toBe(false);
  });

  test("memory and memory+swap can be raised and lowered (write order)", () => {
    const m = newManager();
    const memsw = existsSync("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
    m.create({ memory: { limit: 64 * MiB, swap: memsw ? 128 * MiB : 64 * MiB } });
    m.update({ memory: { limit: 256 * MiB, swap: memsw ? 512 * MiB : 256 * MiB } });
    m.update({ memory: { limit: 32 * MiB, swap: memsw ? 48 * MiB : 32 * MiB } });
    const dir = m.paths().memory as string;
    expect(readFileSync(join(dir, "memory.limit_in_bytes"), "utf8").trim()).toBe(String(32 * MiB));
    if (memsw) expect(readFileSync(join(dir, "memory.memsw.limit_in_bytes"), "utf8").trim()).toBe(String(48 * MiB));
  });

  test("device rules are applied in order from deny-all", () => {
    const m = newManager();
    m.create({
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 136, access: "rw" },
      ],
    });
    const list = readFileSync(join(m.paths().devices as string, "devices.list"), "utf8").trim().split("\n");
    expect(new Set(list)).toEqual(new Set(["c 1:3 rwm", "c 136:* rw"]));
  });

  test("a value the kernel refuses is an error naming file, value and directory; nothing is left behind", () => {
    const m = newManager();
    const dirs = Object.values(m.paths());
    const err = errorOf(() => m.create({ pids: { limit: 10 }, cpu: { cpus: "abc" } }));
    expect(err.code).toBe("CGROUP_UNAVAILABLE");
    expect(err.message).toBe(`write cpuset.cpus = "abc" in ${m.paths().cpuset}: EINVAL: Invalid argument`);
    for (const d of dirs) expect(existsSync(d)).toBe(false);
  });

  test("rootless: without permission a container without limits runs without a cgroup; one with limits fails", async () => {
    const script = `
      import { cgroupManagerFor } from "${join(import.meta.dir, "../../src/linux/cgroups/index.ts")}";
      const path = "/${PARENT}/rootless-${process.pid}";
      const m = cgroupManagerFor({ containerId: "x", cgroupsPath: path, rootless: true });
      m.create(undefined);
      console.log(JSON.stringify(m.paths()));
      try { cgroupManagerFor({ containerId: "x", cgroupsPath: path, rootless: true }).create({ pids: { limit: 5 } }); }
      catch (e) { console.log(e.code, e.message); }
    `;
    const run = Bun.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", script], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, errText, status] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
    expect(status).toBe(0);
    const [paths, failure] = out.trim().split("\n");
    expect(paths).toBe("{}");
    expect(errText).toContain("Warning: cgroups:");
    expect(errText).toContain("without a cgroup of its own");
    expect(failure).toStartWith("PERMISSION_DENIED ");
    expect(failure).toContain("resource limits");
  });
});
