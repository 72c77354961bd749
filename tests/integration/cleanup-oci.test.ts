/**
 * Issue 7, clean-up on every error path, for the runtime family: `oci create`
 * and `oci run` failing at each step of the set-up (CONTAINR_FAILPOINTS
 * injects the failure) leave no state directory, cgroup, mount or process.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { cgroupDirsOf, defaultSpec, makeBundle, mountsUnder, removeAll, SOURCE_MAIN, tempDir, type TestBundle } from "../helpers/oci.ts";

const STEPS = [
  "oci.create.state-dir",
  "oci.create.spawned",
  "oci.create.cgroup",
  "oci.create.placed",
  "oci.create.mounted",
  "oci.create.state-written",
];
/** a marker in the container's command line, to find a container process left behind */
const MARKER = "31337";

/**
 * Processes a failed set-up could leave: the container's command (found by
 * its marker) or, before the execve, the init and the helper it was cloned
 * from (both run build/containr-init).
 */
function leftoverProcesses(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const exe = readlinkSync(`/proc/${entry}/exe`);
      if (argv.includes(MARKER) || exe.endsWith("/containr-init")) found.push(`${entry}: ${argv.join(" ")}`);
    } catch {
      // the process ended while we looked, or is a kernel thread
    }
  }
  return found;
}

describe.skipIf(process.getuid?.() !== 0)("a create or run that fails at any step leaves nothing behind", () => {
  let work: string;
  let bundle: TestBundle;
  let stateRoot: string;

  beforeAll(() => {
    work = tempDir("containr-cleanup-oci-");
    stateRoot = join(work, "state");
    bundle = makeBundle(work, { ...defaultSpec(["/bin/sleep", MARKER]), root: { path: "rootfs", readonly: true } });
  });

  afterAll(() => removeAll(work));

  for (const command of ["create", "run"]) {
    for (const step of STEPS) {
      test(`${command}, failure at ${step}`, () => {
        const id = `fp-${command}-${step.split(".").pop()}`;
        const r = Bun.spawnSync([process.execPath, SOURCE_MAIN, "oci", "--root", stateRoot, command, "--bundle", bundle.dir, id], {
          env: { ...process.env, CONTAINR_FAILPOINTS: step },
          stdout: "pipe",
          stderr: "pipe",
        });
        expect(r.stderr.toString()).toContain(`injected failure at ${step}`);
        expect(r.exitCode).toBe(1);
        expect(existsSync(join(stateRoot, id))).toBe(false);
        expect(cgroupDirsOf(id)).toEqual([]);
        expect(mountsUnder(bundle.rootfs)).toEqual([]);
        expect(leftoverProcesses()).toEqual([]);
      });
    }
  }
});
