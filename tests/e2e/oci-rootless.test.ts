/**
 * A rootless `containr oci run`: a real unprivileged user runs the compiled
 * binary with a user namespace, from a config made by `oci spec --rootless`.
 * A user without /etc/subuid entries who asks for more than its own id gets
 * the lines to add.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../src/oci/spec.ts";
import { BINARY, makeBundle, removeAll, tempDir, defaultSpec } from "../helpers/oci.ts";
import { asUser, ensureUser, type TestUser } from "../helpers/users.ts";

const ready = process.getuid?.() === 0 && existsSync(BINARY);
let work: string;
let user: TestUser;
let bare: TestUser;
let rootfs: string;

beforeAll(() => {
  if (!ready) return;
  user = ensureUser("containr-rootless", { subIds: true });
  bare = ensureUser("containr-nosubid", { subIds: false });
  work = tempDir("containr-e2e-rootless-");
  chmodSync(work, 0o755);
  rootfs = makeBundle(work, defaultSpec(["/init", "id"]), "image").rootfs;
});

afterAll(() => {
  if (work) removeAll(work);
});

async function runAs(u: TestUser, argv: string[], cwd?: string) {
  const proc = Bun.spawn(asUser(u, [BINARY, ...argv]), { cwd, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, status] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, status };
}

/** A bundle owned by the user, its config.json from `containr oci spec --rootless` run by that user. */
async function rootlessBundle(u: TestUser, name: string, edit: (s: Spec) => void): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  chownSync(dir, u.uid, u.gid);
  const spec = await runAs(u, ["oci", "spec", "--rootless"], dir);
  expect(spec.status).toBe(0);
  const config: Spec = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  config.root = { path: rootfs, readonly: true };
  config.process!.terminal = false;
  edit(config);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

describe.skipIf(!ready)("rootless oci run (compiled binary)", () => {
  test("an unprivileged user runs a container in a user namespace mapping it to root", async () => {
    const dir = await rootlessBundle(user, "mine", (s) => (s.process!.args = ["/init", "cat", "/proc/self/uid_map"]));
    const map = await runAs(user, ["oci", "run", "--bundle", dir, "rootless-1"]);
    expect(map.stderr).not.toContain("Error");
    expect(map.status).toBe(0);
    expect(map.stdout.trim().split(/\s+/)).toEqual(["0", String(user.uid), "1"]);
    const dir2 = await rootlessBundle(user, "mine-id", (s) => (s.process!.args = ["/init", "id"]));
    const id = await runAs(user, ["oci", "run", "--bundle", dir2, "rootless-2"]);
    expect(id.stdout).toBe("uid=0 gid=0 euid=0 egid=0\n");
    // nothing left in the user's state directory
    expect(existsSync(join(user.runtimeDir, "containr/oci/rootless-2"))).toBe(false);
  });

  test("a range from /etc/subuid goes through newuidmap and newgidmap", async () => {
    const [, start] = readFileSync("/etc/subuid", "utf8").split("\n").find((l) => l.startsWith(`${user.name}:`))!.split(":");
    const dir = await rootlessBundle(user, "range", (s) => {
      s.process!.args = ["/init", "cat", "/proc/self/uid_map"];
      s.linux!.uidMappings = [{ containerID: 0, hostID: user.uid, size: 1 }, { containerID: 1, hostID: Number(start), size: 1000 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: user.gid, size: 1 }, { containerID: 1, hostID: Number(start), size: 1000 }];
    });
    const r = await runAs(user, ["oci", "run", "--bundle", dir, "rootless-3"]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/));
    expect(lines).toEqual([["0", String(user.uid), "1"], ["1", String(start), "1000"]]);
  });

  test("a user without /etc/subuid entries gets an error whose hint shows the lines to add", async () => {
    const dir = await rootlessBundle(bare, "bare", (s) => {
      s.linux!.uidMappings = [{ containerID: 0, hostID: bare.uid, size: 1 }, { containerID: 1, hostID: 300000, size: 1000 }];
    });
    const r = await runAs(bare, ["oci", "run", "--bundle", dir, "rootless-4"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`user ${bare.name} has no subordinate ids in /etc/subuid and /etc/subgid`);
    expect(r.stderr).toMatch(new RegExp(`${bare.name}:\\d+:65536`));
    expect(existsSync(join(bare.runtimeDir, "containr/oci/rootless-4"))).toBe(false);
  });
});
