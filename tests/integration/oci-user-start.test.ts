/**
 * create + start of a container whose process.user is not root: the init
 * drops to the user before it opens the exec fifo, so the fifo must be
 * writable by that user (runc's 0622, whatever the caller's umask).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultSpec, makeBundle, oci, removeAll, tempDir } from "../helpers/oci.ts";

describe.skipIf(process.getuid?.() !== 0)("a non-root process.user", () => {
  const work = tempDir("containr-oci-user-");
  const root = join(work, "state");
  afterAll(() => removeAll(work));

  test("create, then start runs the command as that user", async () => {
    const out = join(work, "bundle/rootfs/tmp/id.out");
    const spec = defaultSpec(["/bin/sh", "-c", "id > /tmp/id.out"]);
    spec.process!.user = { uid: 1000, gid: 1000 };
    const bundle = makeBundle(work, spec);
    expect((await oci(["--root", root, "create", "--bundle", bundle.dir, "u1"])).status).toBe(0);
    const start = await oci(["--root", root, "start", "u1"]);
    expect(start.stderr).toBe("");
    expect(start.status).toBe(0);
    for (let i = 0; i < 100 && JSON.parse((await oci(["--root", root, "state", "u1"])).stdout).status !== "stopped"; i++) await Bun.sleep(20);
    expect(readFileSync(out, "utf8")).toStartWith("uid=1000");
    expect((await oci(["--root", root, "delete", "u1"])).status).toBe(0);
  });
});
