/**
 * Pulls from a real docker-registry on 127.0.0.1 of images built here:
 * several layers with whiteouts, gzip / zstd / uncompressed, OCI and Docker
 * media types, a multi-platform index; by tag and by digest; reuse of blobs
 * and layers; concurrent pulls; bad content refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainrError } from "../../src/diag/errors.ts";
import { pullImage } from "../../src/image/pull.ts";
import { ImageStore, resolveImage } from "../../src/image/store.ts";
import { buildImage, buildIndex, imageFromArchives, pushImage, pushIndex, sha256, standardLayers, type BuiltImage } from "../helpers/images.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";

let registry: TestRegistry;
let work: string;
const images: Record<string, BuiltImage> = {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "containr-pull-"));
  registry = await startRegistry();
  images.gzip = buildImage(join(work, "gzip"), { layers: standardLayers(), compression: "gzip", format: "oci" });
  images.zstd = buildImage(join(work, "zstd"), { layers: standardLayers(), compression: "zstd", format: "oci" });
  images.plain = buildImage(join(work, "plain"), { layers: standardLayers(), compression: "none", format: "oci" });
  images.docker = buildImage(join(work, "docker"), { layers: standardLayers(), compression: "gzip", format: "docker" });
  images.arm = buildImage(join(work, "arm"), {
    layers: [{ busybox: true, files: { "platform.txt": "arm64\n" } }],
    architecture: "arm64",
    variant: "v8",
  });
  images.amd = buildImage(join(work, "amd"), { layers: [{ busybox: true, files: { "platform.txt": "amd64\n" } }] });
  await pushImage(registry, "test/gzip", "v1", images.gzip);
  await pushImage(registry, "test/zstd", "v1", images.zstd);
  await pushImage(registry, "test/plain", "v1", images.plain);
  await pushImage(registry, "test/docker", "v1", images.docker);
  await pushIndex(registry, "test/multi", "latest", buildIndex([
    { image: images.amd, platform: { os: "linux", architecture: "amd64" } },
    { image: images.arm, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
  ]), [images.amd, images.arm]);
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Runs body with an image store of its own in a fresh temp directory, closed and removed after. */
async function withFreshStore<T>(body: (store: ImageStore, root: string) => Promise<T>): Promise<T> {
  const root = mkdtempSync(join(tmpdir(), "containr-store-"));
  const store = ImageStore.open(root);
  try {
    return await body(store, root);
  } finally {
    store.close();
    rmSync(root, { recursive: true, force: true });
  }
}

/** The merged view of the layers, top layer first, as overlayfs would show a path. */
function lookup(layerDirs: string[], path: string): string | undefined {
  for (const dir of [...layerDirs].reverse()) {
    const full = join(dir, path);
    try {
      const st = lstatSync(full);
      if (st.isCharacterDevice() && st.rdev === 0) return undefined; // an overlay whiteout
      return full;
    } catch {
      // not in this layer
    }
  }
  return undefined;
}

describe("pull of each kind of image", () => {
  for (const kind of ["gzip", "zstd", "plain", "docker"]) {
    test(`${kind}: layers unpacked, verified, and in the index`, async () => {
      await withFreshStore(async (store) => {
        const result = await pullImage(store, `${registry.domain}/test/${kind}:v1`);
        const built = images[kind]!;
        expect(result.image.id).toBe(built.configDigest);
        expect(result.digest).toBe(built.manifestDigest);
        expect(result.image.tags).toEqual([`${registry.domain}/test/${kind}:v1`]);
        expect(result.image.repoDigests).toEqual([`${registry.domain}/test/${kind}@${built.manifestDigest}`]);
        const resolved = resolveImage(store, `${registry.domain}/test/${kind}:v1`);
        expect(resolved.layerDirs).toHaveLength(3);
        expect(resolved.config.config?.Cmd).toEqual(["/bin/sh"]);
        const dirs = resolved.layerDirs;
        expect(readFileSync(lookup(dirs, "app/hello.txt")!, "utf8")).toBe("hello from layer 2\n");
        expect(readFileSync(lookup(dirs, "etc/os-release")!, "utf8")).toBe("NAME=containr-test\n");
        expect(lookup(dirs, "data/gone.txt")).toBeUndefined();
        expect(readlinkSync(lookup(dirs, "app/link")!)).toBe("hello.txt");
        expect(lstatSync(lookup(dirs, "app/suid")!).mode & 0o7777).toBe(0o4755);
        expect(lstatSync(lookup(dirs, "home/user/owned.txt")!).uid).toBe(1000);
        expect(lstatSync(lookup(dirs, "bin/busybox")!).size).toBe(lstatSync("/bin/busybox").size);
        // The opaque directory of layer 1 hides layer 0's files.
        expect(readdirSync(join(dirs[1]!, "opt/old")).sort()).toEqual(["new.txt"]);
        // Blobs kept for push and save, nothing left in tmp.
        for (const layer of built.layers) expect(store.hasBlob(layer.digest)).toBe(true);
        expect(readdirSync(store.tmpDir)).toEqual([]);
      });
    }, 30_000);
  }
});

test("pull by digest, then again by tag reuses blobs and layers", async () => {
  await withFreshStore(async (store) => {
    const byDigest = await pullImage(store, `${registry.domain}/test/gzip@${images.gzip!.manifestDigest}`);
    expect(byDigest.downloaded).toBe(true);
    expect(byDigest.image.tags).toEqual([]);
    const layerDir = store.layerPath(images.gzip!.layers[0]!.diffId);
    const inode = lstatSync(layerDir).ino;
    const seen: string[] = [];
    const byTag = await pullImage(store, `${registry.domain}/test/gzip:v1`, {
      progress: { resolved() {}, layer: (digest, phase) => seen.push(`${digest}:${phase}`) },
    });
    expect(byTag.downloaded).toBe(false);
    expect(byTag.image.id).toBe(byDigest.image.id);
    expect(seen.filter((s) => s.endsWith(":exists"))).toHaveLength(3);
    expect(lstatSync(layerDir).ino).toBe(inode);
    expect(store.listImages()).toHaveLength(1);
  });
}, 30_000);

test("a multi-platform index gives the host's platform, or the one asked for", async () => {
  await withFreshStore(async (store) => {
    const host = await pullImage(store, `${registry.domain}/test/multi`);
    expect(host.image.id).toBe(images.amd!.configDigest);
    expect(readFileSync(join(resolveImage(store, host.image.id).layerDirs[0]!, "platform.txt"), "utf8")).toBe("amd64\n");
    const arm = await pullImage(store, `${registry.domain}/test/multi`, { platform: { os: "linux", architecture: "arm64" } });
    expect(arm.image.id).toBe(images.arm!.configDigest);
    expect(arm.image.platform).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    const err = await pullImage(store, `${registry.domain}/test/multi`, { platform: { os: "linux", architecture: "s390x" } }).catch((e) => e);
    expect(err).toBeInstanceOf(ContainrError);
    expect(err.message).toContain("linux/s390x");
    expect(err.hint).toContain("linux/amd64, linux/arm64/v8");
  });
}, 30_000);

test("an unknown image is IMAGE_NOT_FOUND naming the reference", async () => {
  await withFreshStore(async (store) => {
    const err = await pullImage(store, `${registry.domain}/test/nothing:v9`).catch((e) => e);
    expect(err.code).toBe("IMAGE_NOT_FOUND");
    expect(err.message).toContain(`${registry.domain}/test/nothing:v9`);
    expect(err.message).toContain("manifest unknown");
  });
});

test("a layer whose unpacked content differs from the config's diff_id is refused and leaves nothing", async () => {
  const [first, second] = images.gzip!.layers;
  const wrong = sha256("not this layer");
  const lying = imageFromArchives([first!, { path: second!.path, diffId: wrong }], {});
  await pushImage(registry, "test/baddiff", "v1", lying);
  await withFreshStore(async (store) => {
    const err = await pullImage(store, `${registry.domain}/test/baddiff:v1`).catch((e) => e);
    expect(err).toBeInstanceOf(ContainrError);
    expect(err.code).toBe("DIGEST_MISMATCH");
    expect(err.message).toContain(`uncompressed content has digest ${second!.diffId}, the image config says ${wrong}`);
    expect(readdirSync(store.tmpDir)).toEqual([]);
    expect(existsSync(store.layerPath(second!.diffId))).toBe(false);
    expect(store.listImages()).toEqual([]);
  });
});

test("two concurrent pulls of the same image both succeed and share one copy", async () => {
  await withFreshStore(async (store, root) => {
    const other = ImageStore.open(root);
    try {
      const [a, b] = await Promise.all([
        pullImage(store, `${registry.domain}/test/zstd:v1`),
        pullImage(other, `${registry.domain}/test/zstd:v1`),
      ]);
      expect(a.image.id).toBe(b.image.id);
      expect(readdirSync(store.layerDir)).toHaveLength(3);
      expect(readdirSync(store.tmpDir)).toEqual([]);
      expect(existsSync(join(resolveImage(store, a.image.id).layerDirs[2]!, "app/hello.txt"))).toBe(true);
    } finally {
      other.close();
    }
  });
}, 30_000);
