/**
 * A disk that fills during a pull: NO_SPACE, no partial image, no temp files,
 * and the store still works (a smaller image pulls afterwards).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pullImage } from "../../src/image/pull.ts";
import { ImageStore } from "../../src/image/store.ts";
import { buildImage, pushImage } from "../helpers/images.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";

let work: string;
let mountpoint: string;
let registry: TestRegistry;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "containr-diskfull-"));
  mountpoint = join(work, "small");
  mkdirSync(mountpoint);
  const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", mountpoint]);
  if (mount.exitCode !== 0) throw new Error(`mount tmpfs: ${mount.stderr}`);
  registry = await startRegistry();
  await pushImage(registry, "test/big", "v1", buildImage(join(work, "big"), { layers: [{ busybox: true }, { randomBytes: 16 * 1024 * 1024 }], compression: "gzip" }));
  await pushImage(registry, "test/small", "v1", buildImage(join(work, "small-image"), { layers: [{ busybox: true }] }));
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  Bun.spawnSync(["umount", mountpoint]);
  rmSync(work, { recursive: true, force: true });
});

test("NO_SPACE leaves no partial image and a working store", async () => {
  const store = ImageStore.open(mountpoint);
  try {
    const err = await pullImage(store, `${registry.domain}/test/big:v1`).catch((e) => e);
    expect(err.code).toBe("NO_SPACE");
    expect(store.listImages()).toEqual([]);
    expect(readdirSync(store.tmpDir)).toEqual([]);
    const small = await pullImage(store, `${registry.domain}/test/small:v1`);
    expect(store.listImages().map((i) => i.id)).toEqual([small.image.id]);
    expect(readdirSync(store.tmpDir)).toEqual([]);
  } finally {
    store.close();
  }
}, 60_000);
