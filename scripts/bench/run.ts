#!/usr/bin/env bun
/**
 * npm run bench [-- NAME ...]: benchmarks, side by side with the peers that are
 * installed (runc, crun, podman, skopeo from Debian's archive), as medians and
 * ratios measured in one run. Needs root and a built bin/containr.
 *
 *   oci-run    start latency of `oci run` on a busybox bundle running `true`
 *   oci-exec   latency of `oci exec ID true` in a running busybox container
 *   engine-*   the engine against podman: run --rm, exec, ps, monitor RSS (engine.ts)
 *   pull       cold pull of a Debian image (one ~100 MB gzip layer) from a local registry, time and peak memory
 *
 * Runs are interleaved (containr, runc, crun, containr, ...) so that a change
 * in machine load hits every runtime alike. Never used as a timed assertion
 * in a test: performance is reported, not asserted.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeBusyboxRootfs } from "../../tests/helpers/busybox.ts";
import { benchOciConfig } from "./oci-config.ts";
import { benchPull } from "./pull.ts";
import { benchEngineExec, benchEnginePs, benchEngineRss, benchEngineRun } from "./engine.ts";
import { measure, median, percentile, which } from "./stats.ts";

const root = join(import.meta.dir, "../..");
const containr = join(root, "bin/containr");
const runs = Number(process.env.BENCH_RUNS ?? 50);

/** An OCI runtime: its command line with its own state root (containr oci, crun, runc). */
interface Runtime {
  name: string;
  cmd: string[];
}

/** crun refuses hybrid hosts whose cgroup2 holds a controller; a v1 hugetlb mount moves it there (DESIGN.md). */
function prepareCrun(): void {
  const controllers = "/sys/fs/cgroup/unified/cgroup.controllers";
  if (!existsSync(controllers)) return;
  const text = readFileSync(controllers, "utf8");
  if (!text.includes("hugetlb") || existsSync("/sys/fs/cgroup/hugetlb/tasks")) return;
  console.error("bench: mounting a v1 hugetlb hierarchy so that crun accepts this hybrid host");
  Bun.spawnSync(["mkdir", "-p", "/sys/fs/cgroup/hugetlb"]);
  Bun.spawnSync(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", "/sys/fs/cgroup/hugetlb"]);
}

/** containr and the peers that are installed, each with a state root under stateRoot. */
function runtimes(stateRoot: string): Runtime[] {
  const list: Runtime[] = [{ name: "containr", cmd: [containr, "oci", "--root", `${stateRoot}/containr`] }];
  if (which("crun")) {
    prepareCrun();
    list.push({ name: "crun", cmd: ["crun", "--root", `${stateRoot}/crun`] });
  }
  if (which("runc")) list.push({ name: "runc", cmd: ["runc", "--root", `${stateRoot}/runc`] });
  return list;
}

/** A busybox bundle with the benchmark's config.json running args; removed after fn. */
function withBundle(args: string[], fn: (bundle: string) => void): void {
  const bundle = mkdtempSync(join(tmpdir(), "containr-bench-"));
  try {
    makeBusyboxRootfs(join(bundle, "rootfs"));
    writeFileSync(join(bundle, "config.json"), JSON.stringify(benchOciConfig(args), null, 2));
    fn(bundle);
  } finally {
    rmSync(bundle, { recursive: true, force: true });
  }
}

/** Interleaved runs (one warm-up each), then a markdown table of medians and ratios to crun. */
function compare(title: string, list: Runtime[], argv: (r: Runtime, run: string) => string[], cwd: string): void {
  const times = new Map(list.map((r) => [r.name, [] as number[]]));
  for (const r of list) measure(argv(r, "warm"), cwd); // page cache, lib write-out
  for (let i = 0; i < runs; i++) {
    for (const r of list) times.get(r.name)!.push(measure(argv(r, `b${i}`), cwd).ms);
  }
  const base = median(times.get("crun") ?? times.get("containr")!);
  console.log(`\n## ${title}, ${runs} runs each, interleaved\n`);
  console.log(`| runtime | median ms | p90 ms | ratio to ${times.has("crun") ? "crun" : "containr"} |`);
  console.log("|---|---|---|---|");
  for (const [name, t] of times) {
    console.log(`| ${name} | ${median(t).toFixed(1)} | ${percentile(t, 90).toFixed(1)} | ${(median(t) / base).toFixed(2)} |`);
  }
}

function benchOciRun(): void {
  withBundle(["true"], (bundle) => {
    compare("oci run (busybox bundle, `true`)", runtimes(join(bundle, "state")), (r, run) => [...r.cmd, "run", run], bundle);
  });
}

/** `exec ID true` in a running container of each runtime (runc's and crun's setns path vs containr-init's). */
function benchOciExec(): void {
  withBundle(["sleep", "3600"], (bundle) => {
    const list = runtimes(join(bundle, "state"));
    const id = "bench-exec";
    try {
      for (const r of list) {
        // the container keeps the stdio it is given: no pipe, or the wait for its end never ends
        const errors = join(bundle, `${r.name}.stderr`);
        const started = Bun.spawnSync([...r.cmd, "run", "--detach", id], { cwd: bundle, stdio: ["ignore", "ignore", Bun.file(errors)] });
        if (started.exitCode !== 0) throw new Error(`${r.name} run --detach: ${readFileSync(errors, "utf8")}`);
      }
      compare("oci exec (`true` in a running busybox container)", list, (r) => [...r.cmd, "exec", id, "true"], bundle);
    } finally {
      for (const r of list) Bun.spawnSync([...r.cmd, "delete", "--force", id], { stdio: ["ignore", "ignore", "ignore"] });
    }
  });
}

const benches: Record<string, () => void | Promise<void>> = { "oci-run": benchOciRun, "oci-exec": benchOciExec, pull: benchPull, "engine-run": benchEngineRun, "engine-exec": benchEngineExec, "engine-ps": benchEnginePs, "engine-rss": benchEngineRss };
const selected = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(benches);
if (!existsSync(containr)) throw new Error("build first: npm run build");
for (const name of selected) {
  const bench = benches[name];
  if (!bench) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(benches).join(", ")}`);
  await bench();
}
