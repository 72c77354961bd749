/**
 * Parallel safety from the compiled binary: 20 `run -d` at once, then 20
 * `rm -f` at once, with `ps` and `volume create/rm` running among them:
 * every command succeeds (no lock error), 20 containers run, then none is
 * left, and every volume taken is accounted for.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { engineEnv, type EngineEnv, type Run } from "../helpers/engine-env.ts";

let env: EngineEnv;

beforeAll(async () => {
  env = await engineEnv("parallel", {});
}, 120_000);

afterAll(async () => {
  await env?.cleanUp();
});

async function spawn(args: string[]): Promise<Run> {
  const proc = Bun.spawn(env.argv(args), { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NO_COLOR: "1" } });
  const [stdout, stderr, status] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { status, stdout, stderr };
}

test("20 run -d in parallel, then 20 rm -f in parallel, mixed with ps and volume create/rm", async () => {
  const N = 20;
  const runs = Array.from({ length: N }, (_, i) => spawn(["run", "-d", "--name", `par${i}`, "-v", `pvol${i % 4}:/data`, env.ref, "sleep", "300"]));
  const others = [
    ...Array.from({ length: 5 }, () => spawn(["ps", "-a"])),
    ...Array.from({ length: 5 }, (_, i) => spawn(["volume", "create", `side${i}`])),
  ];
  const started = await Promise.all(runs);
  for (const r of [...started, ...(await Promise.all(others))]) {
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  }
  const ids = started.map((r) => r.stdout.trim());
  expect(new Set(ids).size).toBe(N);
  expect(env.containr(["ps", "-q"]).stdout.trim().split("\n").length).toBe(N);
  expect(env.containr(["ps", "--format", "{{.State}}"]).stdout).toBe("running\n".repeat(N));

  const removals = ids.map((id) => spawn(["rm", "-f", id]));
  const sideRemovals = Array.from({ length: 5 }, (_, i) => spawn(["volume", "rm", `side${i}`]));
  const busy = spawn(["volume", "rm", "pvol0"]);
  const listing = Array.from({ length: 5 }, () => spawn(["ps", "-a", "-q"]));
  for (const r of [...(await Promise.all(removals)), ...(await Promise.all(sideRemovals)), ...(await Promise.all(listing))]) {
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  }
  // pvol0 was in use at least until its containers went: either refused with Docker's message or removed after them
  const busyResult = await busy;
  if (busyResult.status !== 0) expect(busyResult.stderr).toContain("remove pvol0: volume is in use");
  expect(env.containr(["ps", "-aq"]).stdout).toBe("");
  const volumes = env.containr(["volume", "ls", "-q"]).stdout.split("\n").filter(Boolean).sort();
  expect(volumes.filter((v) => v.startsWith("side"))).toEqual([]);
  expect(volumes.filter((v) => v.startsWith("pvol")).length).toBeGreaterThanOrEqual(3);
  // no container holds a volume any more: all can go
  for (const v of volumes) expect(env.containr(["volume", "rm", v]).status).toBe(0);
}, 180_000);
