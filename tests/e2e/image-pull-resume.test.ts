/**
 * A pull killed (SIGKILL) in the middle of a large layer, then run again:
 * the second pull resumes the partial download with a Range request,
 * completes, and verifies; nothing of the first run is left behind.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage, pushImage, sha256File, type BuiltImage } from "../helpers/images.ts";
import { startProxy, startRegistry, throttled, type TestProxy, type TestRegistry } from "../helpers/registry.ts";

const BIN = join(import.meta.dir, "../../bin/containr");
const LAYER_BYTES = 48 * 1024 * 1024;

let work: string;
let registry: TestRegistry;
let proxy: TestProxy;
let image: BuiltImage;
let throttle = true;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "containr-e2e-resume-"));
  registry = await startRegistry();
  image = buildImage(join(work, "image"), { layers: [{ busybox: true }, { randomBytes: LAYER_BYTES }], compression: "none" });
  await pushImage(registry, "e2e/big", "v1", image);
  const big = image.layers[1]!.digest;
  // Slow the big layer down (about 16 MB/s) so the kill lands in the middle of it.
  proxy = startProxy(registry.url, async (req, forward) =>
    throttle && req.method === "GET" && req.url.endsWith(`/blobs/${big}`) ? throttled(await forward(), 16 * 1024 * 1024) : undefined,
  );
}, 60_000);

afterAll(async () => {
  proxy?.stop();
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

function partials(root: string): { name: string; size: number }[] {
  const tmp = join(root, "image/tmp");
  try {
    return readdirSync(tmp)
      .filter((n) => n.endsWith(".partial"))
      .map((name) => ({ name, size: statSync(join(tmp, name)).size }));
  } catch {
    return [];
  }
}

test("a pull killed halfway resumes where it stopped and verifies", async () => {
  const root = mkdtempSync(join(work, "root-"));
  const ref = `${proxy.domain}/e2e/big:v1`;
  const big = image.layers[1]!;

  const first = Bun.spawn([BIN, "--root", root, "pull", ref], { stdout: "ignore", stderr: "ignore" });
  const deadline = Date.now() + 30_000;
  while (!partials(root).some((p) => p.size > LAYER_BYTES / 4) && Date.now() < deadline) await Bun.sleep(20);
  first.kill("SIGKILL");
  await first.exited;
  const left = partials(root);
  expect(left).toHaveLength(1);
  expect(left[0]!.size).toBeGreaterThan(LAYER_BYTES / 4);
  expect(left[0]!.size).toBeLessThan(big.size);

  throttle = false;
  proxy.seen.length = 0;
  // Spawned asynchronously: the proxy runs in this process and must keep serving.
  const second = Bun.spawn([BIN, "--root", root, "pull", "-q", ref], { stdout: "pipe", stderr: "pipe" });
  const [stderr, status] = await Promise.all([new Response(second.stderr).text(), second.exited]);
  expect(stderr).toBe("");
  expect(status).toBe(0);
  const ranges = proxy.seen.filter((r) => r.path.endsWith(big.digest)).map((r) => r.range);
  expect(ranges).toHaveLength(1);
  expect(Number(ranges[0]!.match(/^bytes=(\d+)-$/)![1])).toBeGreaterThanOrEqual(left[0]!.size);

  // Verified and complete: the blob is the pushed one, the layer holds the file, tmp is empty.
  expect(sha256File(join(root, "image/blobs/sha256", big.digest.slice(7)))).toBe(big.digest);
  const layerFile = join(root, "image/layers/sha256", big.diffId.slice(7), "random.bin");
  expect(statSync(layerFile).size).toBe(LAYER_BYTES);
  expect(sha256File(layerFile)).toBe(sha256File(join(work, "image/layer1/random.bin")));
  expect(readdirSync(join(root, "image/tmp"))).toEqual([]);
  const ids = Bun.spawnSync([BIN, "--root", root, "images", "-q", "--no-trunc"]).stdout.toString();
  expect(ids).toBe(`${image.configDigest}\n`);
}, 90_000);
