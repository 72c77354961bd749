/**
 * `containr oci` against the real kernel, as root: the static probe inside
 * the container reports what it sees.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../src/oci/spec.ts";
import { cgroupDirsOf, defaultSpec, oci, SOURCE_MAIN } from "../helpers/oci.ts";
import { ociWorkspace } from "../helpers/oci-workspace.ts";

const isRoot = process.getuid?.() === 0;
const ws = ociWorkspace({ enabled: isRoot, dirPrefix: "containr-oci-", idPrefix: "it", processArgs: ["/init", "pid"] });

/** Run the probe with a spec changed by edit; returns the CLI's result. */
const probe = (args: string[], edit?: (s: Spec) => void, flags: string[] = []) => ws.run(args, edit, { flags });

describe.skipIf(!isRoot)("what the container sees", () => {
  test("its process is pid 1 in its own pid namespace", async () => {
    const r = await probe(["pid"]);
    expect(r.stdout).toBe("1\n");
    expect(r.status).toBe(0);
  });

  test("hostname and domainname from the spec", async () => {
    expect((await probe(["hostname"], (s) => (s.hostname = "probe-host"))).stdout).toBe("probe-host\n");
    expect((await probe(["domainname"], (s) => (s.domainname = "example.test"))).stdout).toBe("example.test\n");
  });

  test("cwd and env", async () => {
    // a cwd missing from the image is created, as runc does
    const cwd = await probe(["cwd"], (s) => (s.process!.cwd = "/work/dir"));
    expect(cwd.stdout).toBe("/work/dir\n");
    expect(existsSync(join(ws.bundle.rootfs, "work/dir"))).toBe(true);
    const env = await probe(["env"], (s) => s.process!.env!.push("GREETING=hello world"));
    expect(env.stdout.split("\n")).toContain("GREETING=hello world");
    expect(env.stdout.split("\n")).toContain("TERM=xterm");
  });

  test("uid, gid and additional groups", async () => {
    const user = (s: Spec) => (s.process!.user = { uid: 1000, gid: 1000, additionalGids: [2000, 3000] });
    expect((await probe(["id"], user)).stdout).toBe("uid=1000 gid=1000 euid=1000 egid=1000\n");
    expect((await probe(["groups"], user)).stdout).toBe("2000 3000\n");
  });

  test("mounts carry their flags", async () => {
    expect((await probe(["mountflags", "/sys"])).stdout).toBe("ro,nosuid,nodev,noexec\n");
    expect((await probe(["mountflags", "/dev/shm"])).stdout).toBe("rw,nosuid,nodev,noexec\n");
    const bind = await probe(["mountflags", "/data"], (s) =>
      s.mounts!.push({ destination: "/data", type: "bind", source: ws.work, options: ["rbind", "ro", "nosuid", "nodev"] }),
    );
    expect(bind.stdout).toBe("ro,nosuid,nodev\n");
    const mounts = (await probe(["mounts"])).stdout;
    expect(mounts).toMatch(/ \/proc .* - proc /);
    expect(mounts).toMatch(/ \/dev\/pts .* - devpts .*ptmxmode=666/);
    expect(mounts).toMatch(/ \/dev\/mqueue .* - mqueue /);
  });

  test("the default /dev nodes and links", async () => {
    const ls = (await probe(["ls", "/dev"])).stdout;
    for (const line of ["null c 666 1:3", "zero c 666 1:5", "full c 666 1:7", "random c 666 1:8", "urandom c 666 1:9", "tty c 666 5:0"]) {
      expect(ls).toContain(line);
    }
    for (const link of ["fd l", "stdin l", "stdout l", "stderr l", "ptmx l"]) expect(ls).toContain(link);
  });

  test("without a /dev mount in the spec /dev is a tmpfs, so the rootfs is not written to", async () => {
    const r = await probe(["mountflags", "/dev/shm"], (s) => (s.mounts = s.mounts!.filter((m) => !m.destination.startsWith("/dev"))));
    expect(r.stdout).toBe("rw,nosuid,nodev,noexec\n");
    expect(existsSync(join(ws.bundle.rootfs, "dev/null"))).toBe(false);
  });

  test("a read-only root refuses writes", async () => {
    const r = await probe(["write", "/newfile"], (s) => (s.root!.readonly = true));
    expect(r.stdout).toContain("Read-only file system");
    expect(r.status).toBe(1);
    expect((await probe(["write", "/dev/shm/x"], (s) => (s.root!.readonly = true))).status).toBe(0);
  });

  test("rlimits, clamped to the host's hard limit with a warning", async () => {
    const hard = Number(readFileSync("/proc/self/limits", "utf8").match(/Max open files\s+\d+\s+(\d+)/)![1]);
    const r = await probe(["rlimits"], (s) => (s.process!.rlimits = [
      { type: "RLIMIT_NOFILE", soft: hard + 1000, hard: hard + 1000 },
      { type: "RLIMIT_CORE", soft: 0, hard: 0 },
    ]));
    expect(r.stdout).toContain(`NOFILE ${hard} ${hard}`);
    expect(r.stdout).toContain("CORE 0 0");
    expect(r.stderr).toContain("RLIMIT_NOFILE");
    expect(r.stderr).toContain("clamped");
    expect(r.status).toBe(0);
  });

  test("the container sits in its own cgroup, the root of its cgroup namespace", async () => {
    const r = await probe(["cgroup"]);
    expect(r.stdout).toContain("memory:/\n");
    const host = await probe(["cat", "/proc/1/cgroup"], (s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "cgroup")));
    expect(host.stdout).toMatch(/memory:\/containr\/it-\d+-\d+\n/);
  });

  test("signals are reset: nothing ignored or blocked", async () => {
    const r = await probe(["sigign"]);
    expect(r.stdout).toContain("SigIgn:\t0000000000000000");
    expect(r.stdout).toContain("SigBlk:\t0000000000000000");
  });

  test("sysctl and oomScoreAdj", async () => {
    const r = await probe(["cat", "/proc/sys/net/ipv4/ip_forward"], (s) => (s.linux!.sysctl = { "net.ipv4.ip_forward": "1" }));
    expect(r.stdout).toBe("1\n");
    expect((await probe(["cat", "/proc/self/oom_score_adj"], (s) => (s.process!.oomScoreAdj = 500))).stdout).toBe("500\n");
  });

  test("run exits with the container's status, 128+n for a signal", async () => {
    expect((await probe(["exit", "3"])).status).toBe(3);
    // outside a pid namespace: a namespace's init cannot be killed by a signal it does not handle
    const withoutPidNs = (s: Spec) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "pid"));
    expect((await probe(["kill-self", "15"], withoutPidNs)).status).toBe(143);
  });

  test("run forwards SIGTERM to the container", async () => {
    ws.bundle.write(defaultSpec(["/init", "wait-signal"]));
    const id = ws.nextId();
    const out = join(ws.work, `${id}.out`);
    const proc = Bun.spawn([process.execPath, SOURCE_MAIN, "oci", "--root", ws.root, "run", "--bundle", ws.bundle.dir, id], { stdout: Bun.file(out), stderr: "inherit" });
    for (let i = 0; i < 200 && !(existsSync(out) && readFileSync(out, "utf8").includes("ready")); i++) await Bun.sleep(10);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(readFileSync(out, "utf8")).toBe("ready\ngot signal 15\n");
    expect(existsSync(join(ws.root, id))).toBe(false);
  });

  test("--no-pivot moves the rootfs over / and chroots instead of pivot_root", async () => {
    const r = await probe(["mounts"], () => {}, ["--no-pivot"]);
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n")[0]).toContain(` ${ws.bundle.rootfs} / `);
  });

  test("the command is looked up in the container's PATH", async () => {
    const r = await probe([], (s) => (s.process!.args = ["echo", "from", "path"]));
    expect(r.stdout).toBe("from path\n");
  });
});

describe.skipIf(!isRoot)("lifecycle", () => {
  test("create → created → start → running → kill → stopped → delete", async () => {
    ws.bundle.write(defaultSpec(["/init", "sleep", "60"]));
    const id = ws.nextId();
    const create = await oci(["--root", ws.root, "create", "--bundle", ws.bundle.dir, id]);
    expect(create.stderr).toBe("");
    expect(create.status).toBe(0);
    const state = async () => JSON.parse((await oci(["--root", ws.root, "state", id])).stdout);
    const created = await state();
    expect(created).toMatchObject({ id, status: "created", bundle: ws.bundle.dir, rootfs: ws.bundle.rootfs, ociVersion: expect.any(String) });
    expect(created.pid).toBeGreaterThan(0);
    expect(cgroupDirsOf(id).length).toBeGreaterThan(0);

    const list = await oci(["--root", ws.root, "list"]);
    expect(list.stdout).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\n/);
    expect(list.stdout).toContain(`${id}`);
    const json = JSON.parse((await oci(["--root", ws.root, "list", "--format", "json"])).stdout);
    expect(json.find((c: { id: string }) => c.id === id).status).toBe("created");

    expect((await oci(["--root", ws.root, "start", id])).status).toBe(0);
    expect((await state()).status).toBe("running");
    expect(readFileSync(`/proc/${created.pid}/cmdline`, "utf8")).toBe("/init\0sleep\x0060\0");

    const refused = await oci(["--root", ws.root, "delete", id]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("INVALID_STATE");

    expect((await oci(["--root", ws.root, "kill", id, "KILL"])).status).toBe(0);
    await Bun.sleep(50);
    const stopped = await state();
    expect(stopped.status).toBe("stopped");

    expect((await oci(["--root", ws.root, "delete", id])).status).toBe(0);
    expect(existsSync(join(ws.root, id))).toBe(false);
    expect(cgroupDirsOf(id)).toEqual([]);
    const gone = await oci(["--root", ws.root, "state", id]);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toContain("CONTAINER_NOT_FOUND");
  });

  test("delete --force kills a running container and removes everything", async () => {
    ws.bundle.write(defaultSpec(["/init", "sleep", "60"]));
    const id = ws.nextId();
    expect((await oci(["--root", ws.root, "run", "--detach", "--bundle", ws.bundle.dir, id])).status).toBe(0);
    const { pid, status } = JSON.parse((await oci(["--root", ws.root, "state", id])).stdout);
    expect(status).toBe("running");
    expect((await oci(["--root", ws.root, "delete", "--force", id])).status).toBe(0);
    expect(existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]![0] !== "Z").toBe(false);
    expect(existsSync(join(ws.root, id))).toBe(false);
    expect(cgroupDirsOf(id)).toEqual([]);
  });

  test("a pid namespace joined by path: the extra fork lands the process in it", async () => {
    ws.bundle.write(defaultSpec(["/init", "sleep", "60"]));
    const holder = ws.nextId();
    expect((await oci(["--root", ws.root, "run", "--detach", "--bundle", ws.bundle.dir, holder])).status).toBe(0);
    const { pid } = JSON.parse((await oci(["--root", ws.root, "state", holder])).stdout);
    try {
      const r = await probe(["pid"], (s) => {
        s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "pid" ? { type: "pid", path: `/proc/${pid}/ns/pid` } : n));
      });
      expect(r.stderr).toBe("");
      expect(Number(r.stdout)).toBeGreaterThan(1);
    } finally {
      await oci(["--root", ws.root, "delete", "--force", holder]);
    }
  });
});
