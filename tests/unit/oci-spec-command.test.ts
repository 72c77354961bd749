import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.ts";
import { exampleSpec, toRootless } from "../../src/cli/oci/spec.ts";

describe("oci spec", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("writes runc's example config into the bundle, and refuses to overwrite it", async () => {
    dir = mkdtempSync(join(tmpdir(), "containr-spec-"));
    expect(await runCli(["oci", "spec", "--bundle", dir])).toBe(0);
    const spec = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(spec.process.args).toEqual(["sh"]);
    expect(spec.root).toEqual({ path: "rootfs", readonly: true });
    expect(spec.linux.namespaces.map((n: { type: string }) => n.type)).toEqual(["pid", "network", "ipc", "uts", "mount", "cgroup"]);
    expect(await runCli(["oci", "spec", "--bundle", dir])).toBe(1);
  });

  test("--rootless maps the caller to root in a user namespace and drops what a user cannot have", () => {
    const spec = toRootless(exampleSpec(), 1000, 1000);
    const types = spec.linux!.namespaces!.map((n) => n.type);
    expect(types).toContain("user");
    expect(types).not.toContain("network");
    expect(spec.linux!.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(spec.linux!.resources).toBeUndefined();
    expect(spec.mounts!.find((m) => m.destination === "/sys")!.options).toContain("rbind");
    expect(spec.mounts!.some((m) => m.destination === "/sys/fs/cgroup")).toBe(false);
    expect(spec.mounts!.find((m) => m.destination === "/dev/pts")!.options).not.toContain("gid=5");
  });
});
