/**
 * `stats` memory as Docker shows it, on this kernel's cgroup v1 memory
 * controller: a container that reads a 50 MiB file has it charged to its
 * cgroup as page cache; MEM USAGE (and MEM %) leave that reclaimable cache
 * out (docker/cli's calculateMemUsageUnixNoCache), while the cgroup's own
 * counter still holds it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { engineEnv, until, type EngineEnv } from "../helpers/engine-env.ts";

const MiB = 1024 * 1024;

let env: EngineEnv;

beforeAll(async () => {
  env = await engineEnv("stats-memory", {});
}, 120_000);

afterAll(async () => {
  await env?.cleanUp();
});

/** docker's MEM USAGE ("12.5MiB") in bytes. */
function bytesOf(size: string): number {
  const m = /^([\d.]+)(B|KiB|MiB|GiB)$/.exec(size);
  if (!m) throw new Error(`not a size: ${size}`);
  return Number(m[1]) * { B: 1, KiB: 1024, MiB, GiB: 1024 * MiB }[m[2] as "B"];
}

test("a container that read a 50 MiB file: MEM USAGE leaves its page cache out, the cgroup's usage holds it", async () => {
  const { containr, ref, work, inspect } = env;
  // written around the page cache (O_DIRECT), so the container's read is what brings it in, charged to its cgroup.
  // Read once, with read(2): busybox cat's sendfile touches each large folio twice, which makes the cache
  // active (the kernel then keeps it, and Docker's figure counts it too).
  const data = join(work, "data");
  mkdirSync(data);
  const dd = Bun.spawnSync(["dd", "if=/dev/urandom", `of=${join(data, "big")}`, "bs=1M", "count=50", "oflag=direct", "status=none"]);
  expect(dd.exitCode).toBe(0);
  containr(["run", "-d", "--name", "reader", "--memory", "512m", "-v", `${data}:/data`, ref, "sh", "-c", "dd if=/data/big of=/dev/null bs=1M 2>/dev/null; touch /tmp/read; sleep 1000"]);
  await until("the container read the file", () => containr(["exec", "reader", "ls", "/tmp/read"]).status === 0);

  const pid = inspect("reader", "{{.State.Pid}}");
  const memoryCgroup = /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, "utf8"))?.[1];
  expect(memoryCgroup).toBeDefined();
  const raw = Number(readFileSync(`/sys/fs/cgroup/memory${memoryCgroup}/memory.usage_in_bytes`, "utf8"));
  expect(raw).toBeGreaterThan(50 * MiB);

  const json = JSON.parse(containr(["stats", "--no-stream", "--format", "json", "reader"]).stdout);
  const [usage, limit] = (json.MemUsage as string).split(" / ");
  expect(limit).toBe("512MiB");
  expect(bytesOf(usage as string)).toBeLessThan(20 * MiB);
  // MEM % is of the same figure: under 20 MiB of 512 MiB
  expect(Number.parseFloat(json.MemPerc)).toBeLessThan(4);
  const row = containr(["stats", "--no-stream", "--format", "{{.MemUsage}}", "reader"]).stdout.trim();
  expect(bytesOf(row.split(" / ")[0] as string)).toBeLessThan(20 * MiB);
  expect(containr(["rm", "-f", "reader"]).status).toBe(0);
}, 60_000);
