#!/usr/bin/env bun
/**
 * npm run bench [-- NAME ...]: benchmarks, side by side with the peers that are
 * installed (runc, crun, podman, skopeo from Debian's archive), as medians and
 * ratios measured in one run. Needs root and a built bin/containr.
 *
 *   oci-run    start latency of `oci run` on a busybox bundle running `true`
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
import { measure, median, percentile, which } from "./stats.ts";

const root = join(import.meta.dir, "../..");
const containr = join(root, "bin/containr");
const runs = Number(process.env.BENCH_RUNS ?? 50);

interface Contender {
  name: string;
  argv: (id: string) => string[];
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

function benchOciRun(): void {
  const bundle = mkdtempSync(join(tmpdir(), "containr-bench-"));
  try {
    makeBusyboxRootfs(join(bundle, "rootfs"));
    writeFileSync(join(bundle, "config.json"), JSON.stringify(benchOciConfig(["true"]), null, 2));
    const stateRoot = join(bundle, "state");
    const contenders: Contender[] = [
      { name: "containr", argv: (id) => [containr, "oci", "--root", `${stateRoot}/containr`, "run", id] },
    ];
    if (which("crun")) {
      prepareCrun();
      contenders.push({ name: "crun", argv: (id) => ["crun", "--root", `${stateRoot}/crun`, "run", id] });
    }
    if (which("runc")) contenders.push({ name: "runc", argv: (id) => ["runc", "--root", `${stateRoot}/runc`, "run", id] });

    const times = new Map(contenders.map((c) => [c.name, [] as number[]]));
    for (const c of contenders) measure(c.argv(`warm-${c.name}`), bundle); // page cache, lib write-out
    for (let i = 0; i < runs; i++) {
      for (const c of contenders) times.get(c.name)!.push(measure(c.argv(`b${i}`), bundle).ms);
    }
    const base = median(times.get("crun") ?? times.get("containr")!);
    console.log(`\n## oci run (busybox bundle, \`true\`), ${runs} runs each, interleaved\n`);
    console.log(`| runtime | median ms | p90 ms | ratio to ${times.has("crun") ? "crun" : "containr"} |`);
    console.log("|---|---|---|---|");
    for (const [name, t] of times) {
      console.log(`| ${name} | ${median(t).toFixed(1)} | ${percentile(t, 90).toFixed(1)} | ${(median(t) / base).toFixed(2)} |`);
    }
  } finally {
    rmSync(bundle, { recursive: true, force: true });
  }
}

const benches: Record<string, () => void | Promise<void>> = { "oci-run": benchOciRun, pull: benchPull };
const selected = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(benches);
if (!existsSync(containr)) throw new Error("build first: npm run build");
for (const name of selected) {
  const bench = benches[name];
  if (!bench) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(benches).join(", ")}`);
  await bench();
}
