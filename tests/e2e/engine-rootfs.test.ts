/**
 * A container's root filesystem: an overlay whose writable layer is
 * volatile (never synced) for a container removed when it exits, and an
 * ordinary one otherwise; a volatile layer left by a host crash is thrown
 * away at the next start instead of making the start fail.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { engineEnv, type EngineEnv } from "../helpers/engine-env.ts";

const isRoot = process.getuid?.() === 0;

/** The super options of the mount at path (field 11 of /proc/self/mountinfo), or undefined. */
function superOptions(path: string): string[] | undefined {
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    if (fields[4] !== path) continue;
    return fields[fields.indexOf("-") + 3]?.split(",");
  }
  return undefined;
}

describe.skipIf(!isRoot)("the root filesystem's writable layer", () => {
  let env: EngineEnv;

  beforeAll(async () => {
    env = await engineEnv("rootfs", {});
  }, 120_000);

  afterAll(async () => {
    await env?.cleanUp();
  });

  const rootfsOf = (id: string) => join(env.root, "containers", id, "rootfs");

  test("--rm: volatile (no syncs); without --rm: synced as usual", () => {
    const transient = env.containr(["run", "-d", "--rm", env.ref, "sleep", "30"]).stdout.trim();
    const kept = env.containr(["run", "-d", env.ref, "sleep", "30"]).stdout.trim();
    try {
      // the kernel shows the option as fsync=volatile (6.x) or volatile (5.10 to 6.5)
      const volatile = (options: string[] | undefined) => options?.some((o) => o === "volatile" || o === "fsync=volatile");
      expect(superOptions(rootfsOf(transient))).toBeDefined();
      expect(volatile(superOptions(rootfsOf(transient)))).toBe(true);
      expect(superOptions(rootfsOf(kept))).toBeDefined();
      expect(volatile(superOptions(rootfsOf(kept)))).toBe(false);
    } finally {
      env.containr(["rm", "-f", transient, kept]);
    }
  });

  test("a --rm container whose volatile layer outlived a crash starts from its image again", () => {
    const id = env.containr(["create", "--rm", "--name", "crashed", env.ref, "cat", "/scratch"]).stdout.trim();
    // what a host crash leaves: the layer unmounted without containr, written to, and the kernel's marker in work/
    writeFileSync(join(rootfsOf(id), "scratch"), "written before the crash\n");
    expect(Bun.spawnSync(["umount", rootfsOf(id)]).exitCode).toBe(0);
    expect(existsSync(join(env.root, "containers", id, "work", "work", "incompat", "volatile"))).toBe(true);
    const start = env.containr(["start", "-a", "crashed"]);
    expect(start.stderr).toContain("starting it from its image again");
    // the layer is fresh: the file written before the crash is gone, and the container ran (and was removed)
    expect(start.stdout).not.toContain("written before the crash");
    expect(start.stderr).toContain("No such file or directory");
    expect(env.containr(["ps", "-aq", "--filter", "name=crashed"]).stdout.trim()).toBe("");
  });
});
