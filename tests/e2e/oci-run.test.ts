/**
 * The compiled binary as a user runs it: `containr oci run` prints the
 * container's output and exits with its status, and a link named
 * containr-oci behaves as `containr oci`.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { BINARY, defaultSpec, oci } from "../helpers/oci.ts";
import { ociWorkspace } from "../helpers/oci-workspace.ts";

const ready = process.getuid?.() === 0 && existsSync(BINARY);
const ws = ociWorkspace({ enabled: ready, dirPrefix: "containr-e2e-oci-", idPrefix: "e2e", processArgs: ["sh", "-c", "echo hello from $(hostname); exit 7"] });

describe.skipIf(!ready)("containr oci (compiled binary)", () => {
  test("run prints the container's output and exits with its status", async () => {
    const r = await oci(["oci", "--root", ws.root, "run", "e2e-run"], { binary: BINARY, cwd: ws.bundle.dir });
    expect(r.stdout).toBe("hello from containr-test\n");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(7);
    expect(existsSync(join(ws.root, "e2e-run"))).toBe(false);
  });

  test("a link named containr-oci is `containr oci`", async () => {
    const link = join(ws.work, "containr-oci");
    if (!existsSync(link)) symlinkSync(BINARY, link);
    const r = await oci(["--root", ws.root, "run", "--bundle", ws.bundle.dir, "e2e-link"], { binary: link });
    expect(r.stdout).toBe("hello from containr-test\n");
    expect(r.status).toBe(7);
    const list = await oci(["--root", ws.root, "list", "--format", "json"], { binary: link });
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  test("errors exit 1 as runc's do, 127 for a missing command", async () => {
    const missing = await oci(["oci", "--root", ws.root, "state", "nope"], { binary: BINARY });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("[CONTAINER_NOT_FOUND]");
    ws.bundle.write(defaultSpec(["no-such-command"]));
    const r = await oci(["oci", "--root", ws.root, "run", "--bundle", ws.bundle.dir, "e2e-missing"], { binary: BINARY });
    expect(r.status).toBe(127);
    expect(r.stderr).toContain("executable file not found");
  });
});
