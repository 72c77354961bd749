/**
 * `containr oci exec`, pause/resume, ps, update and features against a
 * running container, as root.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unixListen } from "../../src/native/console.ts";
import { closeFd } from "../../src/native/runtime.ts";
import { defaultSpec, makeBundle, oci, removeAll, tempDir } from "../helpers/oci.ts";
import { readUntilClosed, receivePtyMaster } from "../helpers/pty.ts";

const isRoot = process.getuid?.() === 0;
let work: string;
let root: string;
const id = `exec-${process.pid}`;
let initPid = 0;

beforeAll(async () => {
  if (!isRoot) return;
  work = tempDir("containr-oci-exec-");
  root = join(work, "state");
  const spec = defaultSpec(["/init", "sleep", "600"]);
  spec.process!.capabilities = { bounding: ["CAP_KILL", "CAP_CHOWN"], effective: ["CAP_KILL", "CAP_CHOWN"], permitted: ["CAP_KILL", "CAP_CHOWN"] };
  const bundle = makeBundle(work, spec);
  const r = await oci(["--root", root, "run", "--detach", "--bundle", bundle.dir, id]);
  if (r.status !== 0) throw new Error(r.stderr);
  initPid = JSON.parse((await oci(["--root", root, "state", id])).stdout).pid;
});

afterAll(async () => {
  if (!work) return;
  await oci(["--root", root, "delete", "--force", id]);
  removeAll(work);
});

const exec = (args: string[]) => oci(["--root", root, "exec", ...args]);

describe.skipIf(!isRoot)("exec", () => {
  test("lands in the container's pid namespace and cgroup", async () => {
    const pid = await exec([id, "/init", "pid"]);
    expect(pid.stderr).toBe("");
    expect(Number(pid.stdout)).toBeGreaterThan(1);
    const pidFile = join(work, "exec.pid");
    expect((await exec(["--detach", "--pid-file", pidFile, id, "/init", "sleep", "30"])).status).toBe(0);
    const execPid = Number(readFileSync(pidFile, "utf8"));
    for (const ns of ["pid", "mnt", "net", "uts", "ipc", "cgroup"]) {
      expect(readlinkSync(`/proc/${execPid}/ns/${ns}`)).toBe(readlinkSync(`/proc/${initPid}/ns/${ns}`));
    }
    expect(readFileSync(`/proc/${execPid}/cgroup`, "utf8")).toBe(readFileSync(`/proc/${initPid}/cgroup`, "utf8"));
    const ps = JSON.parse((await oci(["--root", root, "ps", "--format", "json", id])).stdout);
    expect(ps).toContain(execPid);
    expect(ps).toContain(initPid);
    process.kill(execPid, "SIGKILL");
  });

  test("the exit status, env, cwd and user; the container's capabilities", async () => {
    expect((await exec([id, "/init", "exit", "7"])).status).toBe(7);
    const env = await exec(["-e", "EXTRA=1", "--cwd", "/tmp", id, "/init", "env"]);
    expect(env.stdout.split("\n")).toContain("EXTRA=1");
    expect(env.stdout.split("\n")).toContain("TERM=xterm");
    expect((await exec(["--cwd", "/tmp", id, "/init", "cwd"])).stdout).toBe("/tmp\n");
    expect((await exec(["--user", "1000:1000", id, "/init", "id"])).stdout).toBe("uid=1000 gid=1000 euid=1000 egid=1000\n");
    const status = (await exec([id, "/init", "cat", "/proc/self/status"])).stdout;
    expect(status).toMatch(/CapBnd:\t0000000000000021/);
    expect(status).toMatch(/NoNewPrivs:\t0/);
  });

  test("--process gives the whole process: args, user, capabilities, noNewPrivileges", async () => {
    const file = join(work, "process.json");
    writeFileSync(file, JSON.stringify({
      args: ["/init", "cat", "/proc/self/status"],
      cwd: "/",
      env: ["PATH=/bin"],
      user: { uid: 0, gid: 0 },
      capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] },
      noNewPrivileges: true,
    }));
    const r = await exec(["--process", file, id]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/CapBnd:\t0000000000000020/);
    expect(r.stdout).toMatch(/NoNewPrivs:\t1/);
  });

  test("-t with a console socket: the process has a terminal", async () => {
    const socketPath = join(work, "exec-console.sock");
    const listener = unixListen(socketPath);
    try {
      const cli = exec(["-t", "--detach", "--console-socket", socketPath, id, "/init", "tty"]);
      const got = receivePtyMaster(listener);
      expect((await cli).status).toBe(0);
      const output = readUntilClosed(got.fd);
      closeFd(got.fd);
      expect(output).toMatch(/isatty 1 1 1 name \/dev\/pts\/\d+/);
    } finally {
      closeFd(listener);
    }
  });

  test("a missing command is exit status 127 and names it", async () => {
    const r = await exec([id, "/no/such/thing"]);
    expect(r.status).toBe(127);
    expect(r.stderr).toContain("/no/such/thing");
  });
});

describe.skipIf(!isRoot)("pause, resume, update, features", () => {
  test("pause freezes the container and refuses exec; resume thaws it", async () => {
    expect((await oci(["--root", root, "pause", id])).status).toBe(0);
    expect(JSON.parse((await oci(["--root", root, "state", id])).stdout).status).toBe("paused");
    expect(readFileSync(`/proc/${initPid}/status`, "utf8")).toMatch(/State:\tS|State:\tD/);
    const refused = await exec([id, "/init", "pid"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("paused");
    expect((await oci(["--root", root, "resume", id])).status).toBe(0);
    expect(JSON.parse((await oci(["--root", root, "state", id])).stdout).status).toBe("running");
    expect((await exec([id, "/init", "pid"])).status).toBe(0);
  });

  test("update writes new limits", async () => {
    expect((await oci(["--root", root, "update", "--pids-limit", "77", "--memory", "64m", id])).status).toBe(0);
    expect(readFileSync(`/sys/fs/cgroup/pids/containr/${id}/pids.max`, "utf8").trim()).toBe("77");
    expect(readFileSync(`/sys/fs/cgroup/memory/containr/${id}/memory.limit_in_bytes`, "utf8").trim()).toBe(String(64 * 1024 * 1024));
  });

  test("features lists hooks, namespaces and seccomp actions", async () => {
    const f = JSON.parse((await oci(["features"])).stdout);
    expect(f.hooks).toContain("createContainer");
    expect(f.linux.namespaces).toContain("user");
    expect(f.linux.seccomp.operators).toContain("SCMP_CMP_MASKED_EQ");
  });
});
