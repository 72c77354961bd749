/**
 * The compiled bin/containr on a host whose runtime directory is mounted
 * noexec (Ubuntu's /run, hardened hosts' /tmp): the embedded libcontainr.so,
 * containr-init and containr-monitor cannot be loaded or executed from
 * there, so they must come from a sealed memfd (src/native/embedded.ts).
 * CONTAINR_RUNTIME_DIR points the runtime directory at a noexec tmpfs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { engineEnv, type EngineEnv } from "../helpers/engine-env.ts";
import { BINARY, defaultSpec, makeBundle, removeAll, tempDir } from "../helpers/oci.ts";

/** where root's reaper goes when the runtime directory is noexec */
const PERSISTENT_LIB = "/var/lib/containr/lib";

let work: string;
let noexecDir: string;
let runtimeDir: string;
let engine: EngineEnv | undefined;

function mountsAt(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[4] === path);
}

beforeAll(() => {
  work = tempDir("containr-noexec-");
  noexecDir = join(work, "noexec");
  mkdirSync(noexecDir);
  const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "noexec,nosuid,nodev,mode=700", "tmpfs", noexecDir]);
  if (mount.exitCode !== 0) throw new Error(`mount tmpfs: ${mount.stderr}`);
  runtimeDir = join(noexecDir, "run");
});

afterAll(async () => {
  await engine?.cleanUp();
  if (mountsAt(noexecDir)) Bun.spawnSync(["umount", "-l", noexecDir]);
  removeAll(work);
});

/** bin/containr ARGS with CONTAINR_RUNTIME_DIR set, as a user would run it. */
function containr(args: string[], runtime: string, cwd?: string): { status: number; stdout: string; stderr: string } {
  const res = Bun.spawnSync([BINARY, ...args], {
    cwd,
    stdin: "ignore",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NO_COLOR: "1", CONTAINR_RUNTIME_DIR: runtime },
    timeout: 60_000,
  });
  return { status: res.exitCode ?? -1, stdout: res.stdout.toString(), stderr: res.stderr.toString() };
}

/** Nothing may be written to the noexec directory: the helpers came from memfds. */
function writtenToNoexecDir(): string[] {
  return readdirSync(join(runtimeDir, "lib"));
}

describe("embedded helpers on a noexec runtime directory", () => {
  test("the tmpfs really is noexec", () => {
    const line = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .find((l) => l.split(" ")[4] === noexecDir);
    expect(line).toContain("noexec");
  });

  test("containr oci run of a busybox bundle works (libcontainr.so and containr-init from memfds)", async () => {
    const bundle = makeBundle(work, defaultSpec(["/bin/busybox", "echo", "hello from noexec"]));
    const res = containr(["oci", "--root", join(work, "oci-state"), "run", "--bundle", bundle.dir, "noexec-oci"], runtimeDir);
    expect(res.stderr).toBe("");
    expect(res.stdout).toBe("hello from noexec\n");
    expect(res.status).toBe(0);
    expect(writtenToNoexecDir()).toEqual([]);
  });

  test("containr run through the engine's monitor works (containr-monitor from a memfd)", async () => {
    engine = await engineEnv("noexec", {});
    const run = containr(engine.argv(["run", "--rm", engine.ref, "echo", "engine on noexec"]).slice(1), runtimeDir);
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe("engine on noexec\n");
    expect(run.status).toBe(0);
    expect(writtenToNoexecDir()).toEqual([]);
  });

  test("run --init works: the bind-mounted reaper is a real file in the exec-able persistent directory", async () => {
    engine ??= await engineEnv("noexec", {});
    const before = new Set(existsSync(PERSISTENT_LIB) ? readdirSync(PERSISTENT_LIB) : []);
    try {
      const run = containr(engine.argv(["run", "--rm", "--init", engine.ref, "cat", "/proc/1/cmdline"]).slice(1), runtimeDir);
      expect(run.stderr).toBe("");
      expect(run.stdout).toStartWith("/sbin/containr-reaper");
      expect(run.status).toBe(0);
      expect(readdirSync(PERSISTENT_LIB).filter((f) => f.startsWith("containr-reaper-"))).not.toEqual([]);
      expect(writtenToNoexecDir()).toEqual([]);
    } finally {
      for (const file of readdirSync(PERSISTENT_LIB)) if (!before.has(file)) rmSync(join(PERSISTENT_LIB, file));
    }
  });

  test("a relative CONTAINR_RUNTIME_DIR is refused: nothing is loaded from the current directory", () => {
    const bundle = makeBundle(work, defaultSpec(["/bin/busybox", "true"]), "relative");
    const res = containr(["oci", "--root", join(work, "oci-state"), "run", "--bundle", bundle.dir, "noexec-relative"], "noexec/run", work);
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain("CONTAINR_RUNTIME_DIR must be an absolute path");
  });
});
