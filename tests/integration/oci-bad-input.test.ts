/**
 * Bad input to `containr oci`: each is an error that names the field or
 * object, exits as runc does (1, or 127 for a missing command), and leaves
 * nothing behind: no state directory, cgroup, mount or process.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../src/oci/spec.ts";
import { cgroupDirsOf, defaultSpec, mountsUnder, oci } from "../helpers/oci.ts";
import { ociWorkspace } from "../helpers/oci-workspace.ts";

const isRoot = process.getuid?.() === 0;
const ws = ociWorkspace({ enabled: isRoot, dirPrefix: "containr-oci-bad-", idPrefix: "bad", processArgs: ["/init", "pid"] });

/** `oci run` of the bundle with edit applied; asserts that nothing is left behind. */
async function runWith(edit: (s: Spec) => void, id = ws.nextId()) {
  const r = await ws.run(["pid"], edit, { id });
  expect(mountsUnder(ws.bundle.rootfs)).toEqual([]);
  return r;
}

describe.skipIf(!isRoot)("bad input", () => {
  test("a missing config.json", async () => {
    const empty = join(ws.work, "empty");
    mkdirSync(empty, { recursive: true });
    const r = await oci(["--root", ws.root, "run", "--bundle", empty, ws.nextId()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("[CONFIG_NOT_FOUND]");
    expect(r.stderr).toContain("config.json");
  });

  test("an unparsable config.json", async () => {
    const dir = join(ws.work, "broken");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "config.json"), "{ not json");
    const r = await oci(["--root", ws.root, "run", "--bundle", dir, ws.nextId()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("[INVALID_CONFIG]");
    expect(r.stderr).toContain("not valid JSON");
  });

  test("an unknown namespace type names the field", async () => {
    const r = await runWith((s) => s.linux!.namespaces!.push({ type: "foo" as never }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('config.json: linux.namespaces[6].type: unknown namespace "foo"');
  });

  test("an unknown mount type names the field", async () => {
    const r = await runWith((s) => s.mounts!.push({ destination: "/x", type: "nosuchfs", source: "x" }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('config.json: mounts[6].type: unknown mount type "nosuchfs"');
  });

  test("a rootfs that does not exist", async () => {
    const r = await runWith((s) => (s.root!.path = "no-such-rootfs"));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("[ROOTFS_NOT_FOUND]");
    expect(r.stderr).toContain("no-such-rootfs");
  });

  test("a command missing from the rootfs exits 127 with 'executable file not found'", async () => {
    const r = await runWith((s) => (s.process!.args = ["no-such-command"]));
    expect(r.status).toBe(127);
    expect(r.stderr).toContain("executable file not found");
    expect(r.stderr).toContain("no-such-command");
    const abs = await runWith((s) => (s.process!.args = ["/bin/no-such-command"]));
    expect(abs.status).toBe(127);
  });

  test("a command that is not executable exits 126", async () => {
    writeFileSync(join(ws.bundle.rootfs, "not-executable"), "data");
    const r = await runWith((s) => (s.process!.args = ["/not-executable"]));
    expect(r.status).toBe(126);
    expect(r.stderr).toContain("[CANNOT_EXEC]");
    rmSync(join(ws.bundle.rootfs, "not-executable"));
  });

  test("a failing mount reports the step and the errno", async () => {
    const r = await runWith((s) => s.mounts!.push({ destination: "/bad", type: "proc", source: "proc", options: ["nosuchoption=1"] }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("[MOUNT_FAILED] create container: mount proc on /bad: EINVAL");
  });

  test("an id already in use", async () => {
    ws.bundle.write(defaultSpec(["/init", "sleep", "30"]));
    const id = ws.nextId();
    expect((await oci(["--root", ws.root, "create", "--bundle", ws.bundle.dir, id])).status).toBe(0);
    try {
      const again = await oci(["--root", ws.root, "create", "--bundle", ws.bundle.dir, id]);
      expect(again.status).toBe(1);
      expect(again.stderr).toContain("[CONTAINER_EXISTS]");
      // the first container is untouched
      expect(JSON.parse((await oci(["--root", ws.root, "state", id])).stdout).status).toBe("created");
    } finally {
      await oci(["--root", ws.root, "delete", "--force", id]);
    }
    expect(cgroupDirsOf(id)).toEqual([]);
  });

  test("an invalid id", async () => {
    for (const id of ["..", "a/b", "with space"]) {
      const r = await oci(["--root", ws.root, "run", "--bundle", ws.bundle.dir, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("invalid container id");
    }
  });

  test("an unknown container", async () => {
    for (const cmd of [["state"], ["start"], ["kill"], ["delete"]]) {
      const r = await oci(["--root", ws.root, ...cmd, "no-such-container"]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("[CONTAINER_NOT_FOUND]");
    }
  });

  test("an unknown signal", async () => {
    const r = await oci(["--root", ws.root, "kill", "whatever", "SIGNOPE"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("invalid signal: SIGNOPE");
  });
});
