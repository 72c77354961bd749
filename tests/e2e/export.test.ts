/**
 * `export`: a container's filesystem as a tar archive, as Docker's: the
 * image's files with the container's changes, without its volumes; a
 * stopped container's root filesystem is mounted for it and unmounted
 * afterwards; the archive imports back into an image that runs.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { engineEnv, type EngineEnv } from "../helpers/engine-env.ts";

const isRoot = process.getuid?.() === 0;
let env: EngineEnv;

beforeAll(async () => {
  if (isRoot) env = await engineEnv("export", { files: { "etc/motd": "from the image\n" } });
}, 120_000);

afterAll(async () => {
  await env?.cleanUp();
});

/** The names in a tar archive (GNU tar -t). */
function names(archive: Uint8Array): string[] {
  const r = Bun.spawnSync(["tar", "-t"], { stdin: archive });
  expect(r.exitCode).toBe(0);
  return r.stdout.toString().split("\n").filter(Boolean);
}

/** One file's content out of a tar archive. */
function member(archive: Uint8Array, name: string): string {
  return Bun.spawnSync(["tar", "-xO", name], { stdin: archive }).stdout.toString();
}

function exportOf(container: string): Uint8Array {
  const r = Bun.spawnSync(env.argv(["export", container]), { stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  return r.stdout;
}

test.skipIf(!isRoot)("a stopped container: the image's files and its changes; its root filesystem is unmounted again", () => {
  const { containr, ref } = env;
  expect(containr(["run", "--name", "stopped", ref, "sh", "-c", "echo made > /root/made; rm /etc/motd"]).status).toBe(0);
  const archive = exportOf("stopped");
  const listed = names(archive);
  expect(listed).toContain("bin/busybox");
  expect(listed).toContain("root/made");
  expect(listed).not.toContain("etc/motd");
  expect(member(archive, "root/made")).toBe("made\n");
  const rootfs = join(env.root, "containers", env.inspect("stopped", "{{.Id}}"), "rootfs");
  expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(` ${rootfs} `);
  expect(readdirSync(rootfs)).toEqual([]);
  containr(["rm", "stopped"]);
});

test.skipIf(!isRoot)("a running container with a volume: the volume's files are not in the archive; -o writes a file that imports back", () => {
  const { containr, ref, work } = env;
  containr(["run", "-d", "--name", "running", "-v", "export-data:/data", ref, "sh", "-c", "echo kept > /kept; echo vol > /data/in-volume; sleep 1000"]);
  let listed: string[] = [];
  for (let i = 0; i < 50 && !listed.includes("kept"); i++) {
    Bun.sleepSync(100);
    listed = names(exportOf("running"));
  }
  expect(listed).toContain("kept");
  expect(listed).toContain("data/");
  expect(listed).not.toContain("data/in-volume");

  const file = join(work, "running.tar");
  expect(containr(["export", "-o", file, "running"]).status).toBe(0);
  expect(readdirSync(work).filter((n) => n.startsWith("running.tar."))).toEqual([]);
  const imported = containr(["import", file, "exported:latest"]);
  expect(imported.status).toBe(0);
  expect(containr(["run", "--rm", "exported:latest", "cat", "/kept"]).stdout).toBe("kept\n");
  containr(["rm", "-f", "-v", "running"]);
  containr(["rmi", "exported:latest"]);
});

test.skipIf(!isRoot)("an unknown container is Docker's error; nothing is written for it", () => {
  const file = join(env.work, "none.tar");
  const r = env.containr(["export", "-o", file, "no-such-container"]);
  expect(r.status).toBe(125);
  expect(r.stderr).toContain("Error: [CONTAINER_NOT_FOUND] No such container: no-such-container");
  expect(existsSync(file)).toBe(false);
});
