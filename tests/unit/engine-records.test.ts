import { afterEach, beforeEach, describe, expect, spyOn, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateId, shortId } from "../../src/engine/ids.ts";
import { openRecords, type NewContainerRecord, type RecordStore } from "../../src/engine/records.ts";
import { errorOf } from "../helpers/errors.ts";

const BASE: NewContainerRecord = {
  image: "busybox:latest",
  imageId: `sha256:${"e".repeat(64)}`,
  command: ["sh", "-c", "echo hi"],
  labels: { "com.example.tier": "web" },
  config: { Env: ["PATH=/bin"], Tty: false },
  hostConfig: { Memory: 67108864, RestartPolicy: { Name: "no" } },
  mounts: [{ Type: "volume", Name: "data", Destination: "/data" }],
};

let root: string;
let store: RecordStore;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "containr-records-"));
  store = openRecords(root);
});

afterEach(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

describe("container records", () => {
  test("create stores the record, makes its directory, and get finds it by id, name and prefix", () => {
    const rec = store.create({ ...BASE, name: "web" });
    expect(rec.id).toMatch(/^[0-9a-f]{64}$/);
    expect(rec.name).toBe("web");
    expect(Date.now() - Date.parse(rec.created)).toBeLessThan(5000);
    expect(rec.bundle).toBe(join(root, "containers", rec.id, "bundle"));
    expect(statSync(store.containerDir(rec.id)).isDirectory()).toBe(true);
    expect(statSync(store.containerDir(rec.id)).mode & 0o777).toBe(0o700);
    expect(store.get(rec.id)).toEqual(rec);
    expect(store.get("web")).toEqual(rec);
    expect(store.get("/web")).toEqual(rec);
    expect(store.get(shortId(rec.id))).toEqual(rec);
    expect(store.get(rec.id.slice(0, 1))).toEqual(rec);
  });

  test("the index file is private: records hold environment variables", () => {
    store.create(BASE);
    expect(statSync(join(root, "containers", "index.db")).mode & 0o777).toBe(0o600);
  });

  test("a given id and bundle are kept", () => {
    const id = generateId();
    const rec = store.create({ ...BASE, id, bundle: "/somewhere/bundle" });
    expect(rec.id).toBe(id);
    expect(rec.bundle).toBe("/somewhere/bundle");
    expect(errorOf(() => store.create({ ...BASE, id })).code).toBe("CONTAINER_EXISTS");
  });

  test("list is newest first and survives reopening", () => {
    const names = ["one", "two", "three"];
    for (const name of names) store.create({ ...BASE, name });
    store.close();
    store = openRecords(root);
    expect(store.list().map((r) => r.name)).toEqual(["three", "two", "one"]);
    expect(store.list()[0]?.labels).toEqual(BASE.labels);
  });

  test("a taken name is NAME_IN_USE with Docker's wording", () => {
    const first = store.create({ ...BASE, name: "web" });
    const err = errorOf(() => store.create({ ...BASE, name: "/web" }));
    expect(err.code).toBe("NAME_IN_USE");
    expect(err.message).toBe(
      `Conflict. The container name "/web" is already in use by container "${first.id}". ` +
        "You have to remove (or rename) that container to be able to reuse that name.",
    );
    expect(store.list()).toHaveLength(1);
  });

  test("an invalid name is refused before anything is stored", () => {
    expect(errorOf(() => store.create({ ...BASE, name: "x" })).code).toBe("USAGE");
    expect(store.list()).toHaveLength(0);
  });

  test("generated names retry with a digit, then fall back to the short id", () => {
    const random = spyOn(Math, "random").mockReturnValue(0);
    try {
      const a = store.create(BASE);
      const b = store.create(BASE);
      const c = store.create(BASE);
      expect(a.name).toBe("admiring_agnesi");
      expect(b.name).toBe("admiring_agnesi0");
      expect(c.name).toBe(shortId(c.id));
    } finally {
      random.mockRestore();
    }
  });

  test("update is a read-modify-write of one record", () => {
    const rec = store.create({ ...BASE, name: "web" });
    const next = store.update(rec.id, (r) => ({ ...r, labels: { ...r.labels, restarted: "1" } }));
    expect(next.labels).toEqual({ "com.example.tier": "web", restarted: "1" });
    expect(store.get("web").labels).toEqual(next.labels);
    expect(errorOf(() => store.update(rec.id, (r) => ({ ...r, name: "other" }))).code).toBe("INTERNAL");
    expect(store.get("web").labels).toEqual(next.labels);
    expect(errorOf(() => store.update(generateId(), (r) => r)).code).toBe("CONTAINER_NOT_FOUND");
  });

  test("rename frees the old name and refuses a taken one", () => {
    const web = store.create({ ...BASE, name: "web" });
    const db = store.create({ ...BASE, name: "db" });
    expect(store.rename(web.id, "/frontend").name).toBe("frontend");
    expect(store.get("frontend").id).toBe(web.id);
    expect(errorOf(() => store.get("web")).code).toBe("CONTAINER_NOT_FOUND");
    expect(store.create({ ...BASE, name: "web" }).name).toBe("web");

    const taken = errorOf(() => store.rename(web.id, "db"));
    expect(taken.code).toBe("NAME_IN_USE");
    expect(taken.message).toStartWith(`Error when allocating new name: Conflict. The container name "/db" is already in use by container "${db.id}".`);
    const same = errorOf(() => store.rename(db.id, "db"));
    expect(same.message).toBe("Renaming a container with the same name as its current name");
  });

  test("remove deletes the record and its directory, and frees the name", () => {
    const rec = store.create({ ...BASE, name: "web" });
    writeFileSync(join(store.containerDir(rec.id), "hostname"), "web\n");
    store.remove(rec.id);
    expect(existsSync(store.containerDir(rec.id))).toBe(false);
    expect(store.list()).toHaveLength(0);
    expect(errorOf(() => store.get("web")).message).toBe("No such container: web");
    expect(errorOf(() => store.remove(rec.id)).code).toBe("CONTAINER_NOT_FOUND");
    expect(store.create({ ...BASE, name: "web" }).name).toBe("web");
  });

  test("directories without a record are swept, live ones kept", () => {
    const live = store.create({ ...BASE, name: "web" });
    const orphan = generateId();
    mkdirSync(join(root, "containers", orphan, "bundle"), { recursive: true });
    expect(store.sweepOrphans()).toEqual([orphan]);
    expect(existsSync(join(root, "containers", orphan))).toBe(false);
    expect(existsSync(store.containerDir(live.id))).toBe(true);
  });

  test("ambiguous prefixes and unknown references", () => {
    const ids = Array.from({ length: 40 }, () => store.create(BASE).id);
    // 40 ids over 16 first digits: at least one digit is shared
    const shared = ids.map((id) => id[0]).find((d, i, all) => all.indexOf(d) !== i) as string;
    const err = errorOf(() => store.get(shared));
    expect(err.message).toBe(`multiple IDs found with provided prefix: ${shared}`);
    expect(errorOf(() => store.get("no-such-thing")).message).toBe("No such container: no-such-thing");
    expect(errorOf(() => store.get("")).code).toBe("USAGE");
  });

  test("a store in an unwritable place reports where", () => {
    const file = join(root, "file");
    writeFileSync(file, "");
    const err = errorOf(() => openRecords(file));
    expect(err.message).toContain(`open container records in ${join(file, "containers")}`);
  });
});
