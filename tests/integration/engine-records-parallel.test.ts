/**
 * The record store under real concurrency and real crashes: 20 processes
 * creating, listing, renaming and removing at once (some fighting over one
 * name), and a writer SIGKILLed at random points in its loop.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ContainrError } from "../../src/diag/errors.ts";
import { openRecords, type NewContainerRecord } from "../../src/engine/records.ts";
import { errorOf } from "../helpers/errors.ts";

const BUN = resolve("node_modules/.bin/bun");
const RECORDS = resolve("src/engine/records.ts");
const WORKERS = 20;

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "containr-records-par-"));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const NEW: NewContainerRecord = { image: "busybox", imageId: "", command: ["sh"], labels: {}, config: {}, hostConfig: {}, mounts: [] };
const BASE = JSON.stringify(NEW);

/** One worker: own names, one generated, a fight over "shared", list, rename, remove everything it made. */
const WORKER = `
import { openRecords } from ${JSON.stringify(RECORDS)};
import { readdirSync, writeFileSync } from "node:fs";
const [root, index, startAt, tried, workers] = process.argv.slice(2);
while (Date.now() < Number(startAt)) Bun.sleepSync(1);
const store = openRecords(root);
const base = ${BASE};
const mine = [];
mine.push(store.create({ ...base, name: "w" + index }));
mine.push(store.create(base));
let wonShared = false;
try {
  mine.push(store.create({ ...base, name: "shared" }));
  wonShared = true;
} catch (err) {
  if (err.code !== "NAME_IN_USE") throw err;
  if (!err.message.startsWith('Conflict. The container name "/shared" is already in use by container "')) throw err;
}
// the winner keeps "shared" until every worker has tried for it
writeFileSync(tried + "/" + index, "");
while (readdirSync(tried).length < Number(workers)) Bun.sleepSync(2);
const seen = store.list().map((r) => r.name);
for (const r of mine) if (!seen.includes(r.name)) throw new Error("own record missing from list: " + r.name);
store.rename(mine[0].id, "renamed" + index);
if (store.get("renamed" + index).id !== mine[0].id) throw new Error("rename lost");
const names = mine.map((r) => store.get(r.id).name);
for (const r of mine) store.remove(r.id);
console.log(JSON.stringify({ created: mine.length, wonShared, names }));
`;

/** A writer that never stops: create "crashy", update it, remove it, with other records around. */
const CRASHER = `
import { openRecords } from ${JSON.stringify(RECORDS)};
const store = openRecords(process.argv[2]);
const base = ${BASE};
for (let i = 0; ; i++) {
  let rec;
  try {
    rec = store.create({ ...base, name: "crashy" });
  } catch (err) {
    if (err.code !== "NAME_IN_USE") throw err;
    rec = store.get("crashy");
  }
  store.update(rec.id, (r) => ({ ...r, labels: { round: String(i) } }));
  const other = store.create(base);
  store.list();
  store.remove(rec.id);
  if (i % 3 === 0) store.remove(other.id);
}
`;

describe("container records across processes", () => {
  test(`${WORKERS} processes at once: every record created and removed, one winner per name, no errors`, async () => {
    const root = join(work, "parallel");
    const script = join(work, "worker.ts");
    const tried = join(work, "tried");
    mkdirSync(tried);
    writeFileSync(script, WORKER);
    const startAt = Date.now() + 1500; // all of them loaded before the first write
    const procs = Array.from({ length: WORKERS }, (_, i) =>
      Bun.spawn([BUN, script, root, String(i), String(startAt), tried, String(WORKERS)], { stdout: "pipe", stderr: "pipe" }),
    );
    const results = await Promise.all(
      procs.map(async (p) => ({
        status: await p.exited,
        stdout: await new Response(p.stdout).text(),
        stderr: await new Response(p.stderr).text(),
      })),
    );
    for (const r of results) {
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    }
    const outs = results.map((r) => JSON.parse(r.stdout) as { created: number; wonShared: boolean; names: string[] });
    expect(outs.filter((o) => o.wonShared)).toHaveLength(1);
    expect(outs.reduce((sum, o) => sum + o.created, 0)).toBe(2 * WORKERS + 1);
    const names = outs.flatMap((o) => o.names);
    expect(new Set(names).size).toBe(names.length);
    for (let i = 0; i < WORKERS; i++) expect(names).toContain(`renamed${i}`);

    const store = openRecords(root);
    try {
      expect(store.list()).toHaveLength(0);
    } finally {
      store.close();
    }
    expect(readdirSync(join(root, "containers")).filter((f) => /^[0-9a-f]{64}$/.test(f))).toEqual([]);
  }, 60_000);

  test("a writer killed with SIGKILL at random points leaves a consistent store and a usable name", async () => {
    const root = join(work, "crash");
    const script = join(work, "crasher.ts");
    writeFileSync(script, CRASHER);
    for (let round = 0; round < 8; round++) {
      const proc = Bun.spawn([BUN, script, root], { stdout: "ignore", stderr: "pipe" });
      await Bun.sleep(150 + Math.floor(Math.random() * 250));
      proc.kill("SIGKILL");
      expect(await proc.exited).not.toBe(0);
      expect(proc.signalCode).toBe("SIGKILL"); // killed mid-loop, not failed on its own
      const stderr = await new Response(proc.stderr).text();
      expect(stderr).toBe("");

      const db = new Database(join(root, "containers", "index.db"), { readonly: true });
      try {
        expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      } finally {
        db.close();
      }
      const store = openRecords(root);
      try {
        // every visible record is whole
        for (const r of store.list()) {
          expect(r.id).toMatch(/^[0-9a-f]{64}$/);
          expect(r.image).toBe("busybox");
        }
        // "crashy" is either free or owned by a record that get, update and rm can handle
        let owner: string | undefined;
        try {
          owner = store.get("crashy").id;
        } catch (err) {
          expect((err as ContainrError).code).toBe("CONTAINER_NOT_FOUND");
        }
        if (owner !== undefined) store.remove(owner);
        const again = store.create({ ...NEW, name: "crashy" });
        store.remove(again.id);
        // what is left on disk matches the index after a sweep
        store.sweepOrphans();
        const dirs = readdirSync(join(root, "containers")).filter((f) => /^[0-9a-f]{64}$/.test(f));
        const ids = new Set(store.list().map((r) => r.id));
        for (const d of dirs) expect(ids.has(d)).toBe(true);
      } finally {
        store.close();
      }
    }
  }, 60_000);

  test("remove refuses a container directory with a mount inside, and keeps the record", () => {
    if (process.getuid?.() !== 0) return; // mounting needs root; the integration suite runs as root
    const root = join(work, "mounted");
    const store = openRecords(root);
    const rec = store.create({ ...NEW, name: "mounted" });
    const target = join(store.containerDir(rec.id), "rootfs", "data");
    const hostData = join(work, "host-data");
    mkdirSync(target, { recursive: true });
    mkdirSync(hostData, { recursive: true });
    writeFileSync(join(hostData, "precious"), "keep me");
    execFileSync("mount", ["--bind", hostData, target]);
    try {
      const err = errorOf(() => store.remove(rec.id));
      expect(err.code).toBe("INVALID_STATE");
      expect(err.message).toContain(`still mounted: ${target}`);
      expect(store.get("mounted").id).toBe(rec.id);
      expect(existsSync(join(hostData, "precious"))).toBe(true);
    } finally {
      execFileSync("umount", [target]);
    }
    store.remove(rec.id);
    expect(existsSync(join(hostData, "precious"))).toBe(true);
    expect(existsSync(store.containerDir(rec.id))).toBe(false);
    store.close();
  });
});
