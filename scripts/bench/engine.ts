/**
 * The engine's benchmarks, side by side with podman (Debian's, with cgroupfs
 * and a containers.conf that keeps its rlimits under this host's hard
 * limit, DESIGN.md) on the same busybox image, imported into both stores:
 *
 *   engine-run    `run --rm IMAGE true`, both with --network none (both default to a bridge; what
 *                 containr's bridge adds to a run is in docs/networking.md)
 *   engine-exec   `exec CONTAINER true` in a running container
 *   engine-ps     `ps -a` with 50 running containers
 *   engine-rss    resident memory per running container of containr's monitor and podman's conmon
 *
 * Runs are interleaved, as in run.ts. Each store lives in a temporary
 * directory that is removed afterwards, with every container in it.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeBusyboxRootfs } from "../../tests/helpers/busybox.ts";
import { measure, median, percentile, which } from "./stats.ts";

const containrBin = join(import.meta.dir, "../../bin/containr");
const runs = Number(process.env.BENCH_RUNS ?? 30);
const PS_CONTAINERS = 50;
const IMAGE = "localhost/bench-busybox:latest";

interface Engine {
  name: string;
  cmd: string[];
  /** run's extra flags for the comparison */
  runFlags: string[];
  /** the process that holds a detached container */
  monitor: string;
}

function setUp(work: string): Engine[] {
  const rootfs = join(work, "rootfs");
  makeBusyboxRootfs(rootfs);
  const tarball = join(work, "busybox.tar");
  const tar = Bun.spawnSync(["tar", "-C", rootfs, "-cf", tarball, "."]);
  if (tar.exitCode !== 0) throw new Error(`tar: ${tar.stderr.toString()}`);
  // podman's configuration comes from CONTAINERS_CONF; both engines start through env(1), so both pay its exec
  const conf = join(work, "containers.conf");
  writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]\n[engine]\nevents_logger = "none"\n');
  const viaEnv = ["/usr/bin/env", `CONTAINERS_CONF=${conf}`];
  const engines: Engine[] = [
    { name: "containr", cmd: [...viaEnv, containrBin, "--root", join(work, "containr/root"), "--runroot", join(work, "containr/run")], runFlags: ["--network", "none"], monitor: "containr-monitor" },
  ];
  if (which("podman")) {
    mkdirSync(join(work, "podman"), { recursive: true });
    engines.push({
      name: "podman",
      cmd: [...viaEnv, "podman", "--root", join(work, "podman/root"), "--runroot", join(work, "podman/run"), "--cgroup-manager=cgroupfs"],
      runFlags: ["--network", "none"],
      monitor: "conmon",
    });
  }
  for (const e of engines) run(e, ["import", tarball, IMAGE]);
  return engines;
}

function run(e: Engine, args: string[]): string {
  const r = Bun.spawnSync([...e.cmd, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${e.name} ${args.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/** Clock ticks since boot (the unit of /proc/PID/stat's start time; USER_HZ is 100 on Linux). */
function ticksSinceBoot(): number {
  return Math.floor(Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 100);
}

/** Live processes (not zombies) started at or after `since` ticks. */
function startedSince(since: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] !== "Z" && Number(fields[19]) >= since) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/**
 * One measured command, then a wait until what it left running has finished
 * (at most 5 s): `podman exec` and `podman run --rm` return while a
 * `podman container cleanup` and conmon still run, and the next measured
 * command, of either engine, must not share the two cores with them.
 */
function timeIt(e: Engine, args: string[]): number {
  const since = ticksSinceBoot();
  const ms = measure([...e.cmd, ...args]).ms;
  for (let waited = 0; waited < 5000 && startedSince(since).length > 0; waited += 10) Bun.sleepSync(10);
  return ms;
}

/** Interleaved runs after one warm-up each; a table with the ratio to podman. */
function compare(title: string, engines: Engine[], args: (e: Engine) => string[]): void {
  const times = new Map(engines.map((e) => [e.name, [] as number[]]));
  for (const e of engines) timeIt(e, args(e));
  for (let i = 0; i < runs; i++) for (const e of engines) times.get(e.name)!.push(timeIt(e, args(e)));
  const base = median(times.get("podman") ?? times.get("containr")!);
  console.log(`\n## ${title}, ${runs} runs each, interleaved\n`);
  console.log("| engine | median ms | p90 ms | ratio to podman |");
  console.log("|---|---|---|---|");
  for (const [name, t] of times) console.log(`| ${name} | ${median(t).toFixed(1)} | ${percentile(t, 90).toFixed(1)} | ${(median(t) / base).toFixed(2)} |`);
}

function withEngines(fn: (engines: Engine[], work: string) => void): void {
  const work = mkdtempSync(join(tmpdir(), "containr-bench-engine-"));
  let engines: Engine[] = [];
  try {
    engines = setUp(work);
    fn(engines, work);
  } finally {
    for (const e of engines) {
      try {
        const ids = run(e, ["ps", "-aq"]).split("\n").filter(Boolean);
        if (ids.length > 0) run(e, ["rm", "-f", ...ids]);
      } catch (err) {
        console.error(`bench: clean-up of ${e.name}: ${(err as Error).message}`);
      }
    }
    // podman's storage unmounts its overlay root a moment after rm -f returns
    const mounted = () => readFileSync("/proc/self/mountinfo", "utf8").includes(work);
    for (let i = 0; i < 100 && mounted(); i++) Bun.sleepSync(100);
    if (mounted()) Bun.spawnSync(["umount", "-R", join(work, "podman/root/overlay")], { stderr: "ignore" });
    rmSync(work, { recursive: true, force: true });
  }
}

export function benchEngineRun(): void {
  withEngines((engines) => compare("run --rm IMAGE true", engines, (e) => ["run", "--rm", ...e.runFlags, IMAGE, "true"]));
}

export function benchEngineExec(): void {
  withEngines((engines) => {
    for (const e of engines) run(e, ["run", "-d", "--name", "bench-exec", ...e.runFlags, IMAGE, "sleep", "3600"]);
    compare("exec CONTAINER true", engines, () => ["exec", "bench-exec", "true"]);
  });
}

/** Start n detached containers in each engine. */
function startMany(engines: Engine[], n: number): void {
  for (let i = 0; i < n; i++) for (const e of engines) run(e, ["run", "-d", ...e.runFlags, IMAGE, "sleep", "3600"]);
}

export function benchEnginePs(): void {
  withEngines((engines) => {
    startMany(engines, PS_CONTAINERS);
    compare(`ps -a with ${PS_CONTAINERS} running containers`, engines, () => ["ps", "-a"]);
  });
}

/** VmRSS in KiB of every process named comm whose command line mentions text. */
function rssOf(comm: string, text: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      // comm holds the first 15 bytes of the executable's name (containr-monitor-HASH → "containr-monito")
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== comm.slice(0, 15)) continue;
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(text)) continue;
      const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
      if (line) out.push(Number(line.split(/\s+/)[1]));
    } catch {
      // gone
    }
  }
  return out;
}

export function benchEngineRss(): void {
  const n = 10;
  withEngines((engines, work) => {
    startMany(engines, n);
    console.log(`\n## resident memory of the per-container monitor, ${n} running containers each\n`);
    console.log("| engine | process | median VmRSS KiB | max KiB | processes |");
    console.log("|---|---|---|---|---|");
    for (const e of engines) {
      // both monitors' command lines name paths under the benchmark's work directory
      const rss = rssOf(e.monitor, work);
      console.log(`| ${e.name} | ${e.monitor} | ${median(rss).toFixed(0)} | ${Math.max(...rss)} | ${rss.length} |`);
    }
  });
}
