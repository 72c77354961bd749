/**
 * How a container's init comes to be (ADR 0001): containr-init, a static
 * helper, clones it with CLONE_PARENT and exits, so the init is the CLI's
 * own child while `oci run` waits, and outlives `oci create` like runc's.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { oci, SOURCE_MAIN } from "../helpers/oci.ts";
import { ociWorkspace } from "../helpers/oci-workspace.ts";

const isRoot = process.getuid?.() === 0;
const HELPER = join(import.meta.dir, "../../build/containr-init");
const ws = ociWorkspace({ enabled: isRoot, dirPrefix: "containr-spawn-", idPrefix: "sp", processArgs: ["/init", "sleep", "30"] });

function parentOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("PPid:"));
  return Number(line?.split(/\s+/)[1]);
}

/** Live processes whose parent is ppid, as [pid, executable]. */
function childrenOf(ppid: number): [number, string][] {
  const out: [number, string][] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (parentOf(Number(name)) === ppid) out.push([Number(name), readlinkSync(`/proc/${name}/exe`)]);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function statePid(id: string): Promise<number> {
  const r = await oci(["--root", ws.root, "state", id]);
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout).pid as number;
}

describe.skipIf(!isRoot)("the container's init", () => {
  test("is the child of `oci run` itself, and containr-init is gone", async () => {
    const id = ws.nextId();
    const cli = Bun.spawn([process.execPath, SOURCE_MAIN, "oci", "--root", ws.root, "run", "--bundle", ws.bundle.dir, id], { stdout: "ignore", stderr: "inherit" });
    try {
      for (let i = 0; i < 500 && !existsSync(join(ws.root, id, "state.json")); i++) await Bun.sleep(10);
      const pid = await statePid(id);
      expect(parentOf(pid)).toBe(cli.pid);
      const children = childrenOf(cli.pid);
      expect(children.map(([p]) => p)).toEqual([pid]);
      expect(children.some(([, exe]) => exe.includes("containr-init"))).toBe(false);
    } finally {
      expect((await oci(["--root", ws.root, "kill", id, "KILL"])).status).toBe(0);
      await cli.exited;
    }
    expect(existsSync(join(ws.root, id))).toBe(false);
  });

  test("outlives `oci create`, then starts and is deleted as usual", async () => {
    const id = ws.nextId();
    const created = await oci(["--root", ws.root, "create", "--bundle", ws.bundle.dir, id]);
    expect(created.status).toBe(0);
    const pid = await statePid(id);
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    expect(JSON.parse((await oci(["--root", ws.root, "state", id])).stdout).status).toBe("created");
    expect((await oci(["--root", ws.root, "start", id])).status).toBe(0);
    expect(JSON.parse((await oci(["--root", ws.root, "state", id])).stdout).status).toBe("running");
    expect((await oci(["--root", ws.root, "delete", "--force", id])).status).toBe(0);
    expect(existsSync(join(ws.root, id))).toBe(false);
  });
});

describe("containr-init", () => {
  test("refuses to run when not started by containr", () => {
    const r = Bun.spawnSync([HELPER, "some", "args"], { stderr: "pipe" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("it is not a command");
  });
});
