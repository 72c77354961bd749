/**
 * Resource limits reach the container: the cgroup is created and limited
 * before the command runs, and removed with the container.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import type { Spec } from "../../src/oci/spec.ts";
import { ociWorkspace } from "../helpers/oci-workspace.ts";

const isRoot = process.getuid?.() === 0;
const hasV1 = (controller: string) => existsSync(`/sys/fs/cgroup/${controller}/cgroup.procs`);
const ws = ociWorkspace({ enabled: isRoot, dirPrefix: "containr-oci-cg-", idPrefix: "cg", processArgs: ["/init", "pid"] });

const run = (args: string[], edit: (s: Spec) => void) => ws.run(args, edit);

describe.skipIf(!isRoot)("cgroup limits", () => {
  test.skipIf(!hasV1("memory"))("a memory limit OOM-kills a memory hog", async () => {
    const limited = await run(["memhog", "200"], (s) => (s.linux!.resources = { memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 } }));
    expect(limited.status).toBe(137);
    expect(limited.stdout).not.toContain("allocated");
    const free = await run(["memhog", "50"], () => {});
    expect(free.stdout).toBe("allocated 50 MB\n");
  });

  test.skipIf(!hasV1("pids"))("a pids limit stops a fork bomb", async () => {
    const r = await run(["forkbomb", "100"], (s) => (s.linux!.resources = { pids: { limit: 10 } }));
    expect(r.stdout).toContain("forked 9\n");
    expect(r.stdout).toContain("fork failed: Resource temporarily unavailable");
  });

  test("the limits are in place before the command runs", async () => {
    const r = await run(["cat", "/sys/fs/cgroup/pids/pids.max"], (s) => {
      s.linux!.resources = { pids: { limit: 42 } };
      s.mounts!.push({ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid", "nodev", "noexec"] });
    });
    expect(r.stdout).toBe("42\n");
  });

  test("cgroupsPath places the container where the spec says", async () => {
    const path = `/containr-test-${process.pid}/inner`;
    const r = await run(["cat", "/proc/self/cgroup"], (s) => {
      s.linux!.cgroupsPath = path;
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "cgroup");
    });
    expect(r.stdout).toContain(`memory:${path}\n`);
    expect(existsSync(`/sys/fs/cgroup/memory${path}`)).toBe(false);
    expect(readFileSync("/proc/self/cgroup", "utf8")).not.toContain(path);
  });
});
