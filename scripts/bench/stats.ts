/** Helpers shared by the benchmarks: finding peers, timing a command with its peak memory, summary statistics. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** The path of `cmd` on $PATH, or undefined when the peer is not installed. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    if (existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface Measurement {
  ms: number;
  /** peak resident set size in bytes (GNU time's %M: the largest ru_maxrss of the command and the children it waited for), when asked for */
  maxRssBytes?: number;
  /** user + system CPU time of the command and its waited-for children, with maxRssBytes */
  cpuMs?: number;
}

/**
 * Run a command to completion; a failure throws with its stderr. For its peak
 * memory and CPU time it runs under /usr/bin/time (package `time`): Bun's
 * resourceUsage reports the largest of all our children so far, not this one's.
 */
export function measure(argv: string[], cwd?: string, options: { peakMemory?: boolean } = {}): Measurement {
  const rssFile = options.peakMemory ? join(mkdtempSync(join(tmpdir(), "containr-bench-rss-")), "maxrss") : undefined;
  if (rssFile && !existsSync("/usr/bin/time")) throw new Error("peak memory is measured with /usr/bin/time: apt-get install -y time");
  const command = rssFile ? ["/usr/bin/time", "-f", "%M %U %S", "-o", rssFile, ...argv] : argv;
  try {
    const start = performance.now();
    const r = Bun.spawnSync(command, { cwd, stdout: "ignore", stderr: "pipe" });
    const ms = performance.now() - start;
    if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().trim()}`);
    if (!rssFile) return { ms };
    const [kib, user, sys] = readFileSync(rssFile, "utf8").trim().split(" ").map(Number) as [number, number, number];
    return { ms, maxRssBytes: kib * 1024, cpuMs: (user + sys) * 1000 };
  } finally {
    if (rssFile) rmSync(dirname(rssFile), { recursive: true, force: true });
  }
}
