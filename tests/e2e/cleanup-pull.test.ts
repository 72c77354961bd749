/**
 * Issue 7, clean-up on every error path, for the image family: a pull that
 * fails at each of its steps (CONTAINR_FAILPOINTS injects the failure) leaves
 * no image, no temporary file and no half-unpacked layer, and the next pull
 * of the same image works.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage, pushImage } from "../helpers/images.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";

const BIN = join(import.meta.dir, "../../bin/containr");
const STEPS = ["pull.manifest", "pull.verified", "pull.blob-saved", "pull.layers-done"];

describe.skipIf(!existsSync(BIN) || process.getuid?.() !== 0)("a pull that fails at any step leaves the store clean", () => {
  let work: string;
  let registry: TestRegistry;
  let ref: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "containr-cleanup-pull-"));
    registry = await startRegistry();
    const image = buildImage(join(work, "image"), {
      layers: [{ busybox: true }, { files: { "etc/motd": "second layer\n" } }],
      config: { Cmd: ["sh"] },
    });
    await pushImage(registry, "cleanup/pull", "latest", image);
    ref = `${registry.domain}/cleanup/pull:latest`;
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const containr = (root: string, args: string[], failpoints = "") =>
    Bun.spawnSync([BIN, "--root", root, "--runroot", join(root, "run"), ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", CONTAINR_FAILPOINTS: failpoints },
      stdout: "pipe",
      stderr: "pipe",
    });

  for (const step of STEPS) {
    test(`failure at ${step}`, () => {
      const root = join(work, step);
      const failed = containr(root, ["pull", ref], step);
      expect(failed.stderr.toString()).toContain(`injected failure at ${step}`);
      expect(failed.exitCode).toBe(125);

      expect(containr(root, ["images", "-q"]).stdout.toString()).toBe("");
      expect(readdirSync(join(root, "image/tmp"))).toEqual([]);
      // what stands in layers/ is whole and verified: named by its diffID, nothing half-written
      for (const name of readdirSync(join(root, "image/layers/sha256"))) expect(name).toMatch(/^[0-9a-f]{64}$/);

      const again = containr(root, ["pull", "-q", ref]);
      expect(again.exitCode).toBe(0);
      expect(containr(root, ["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout.toString()).toBe(`${registry.domain}/cleanup/pull:latest\n`);
      expect(containr(root, ["run", "--rm", "--network", "none", ref, "cat", "/etc/motd"]).stdout.toString()).toBe("second layer\n");
    });
  }
});
