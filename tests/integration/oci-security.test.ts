/**
 * The security half of `containr oci` on the real kernel, as root: the
 * static probe inside the container reports capabilities, seccomp,
 * no_new_privs, masked and read-only paths, devices, user namespace maps,
 * the terminal (through a console socket) and the hooks' order and state.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unixListen } from "../../src/native/console.ts";
import { closeFd } from "../../src/native/runtime.ts";
import type { Spec } from "../../src/oci/spec.ts";
import { cgroupDirsOf, defaultSpec, mountsUnder, oci, SOURCE_MAIN } from "../helpers/oci.ts";
import { readUntilClosed, receivePtyMaster } from "../helpers/pty.ts";
import { ociWorkspace } from "../helpers/oci-workspace.ts";

const isRoot = process.getuid?.() === 0;
const ws = ociWorkspace({ enabled: isRoot, dirPrefix: "containr-oci-sec-", idPrefix: "sec", processArgs: ["/init", "pid"] });

const probe = (args: string[], edit?: (s: Spec) => void, flags: string[] = []) => ws.run(args, edit, { flags });

const statusLine = (text: string, field: string) => text.split("\n").find((l) => l.startsWith(`${field}:`))?.split(":")[1]?.trim();

describe.skipIf(!isRoot)("capabilities and no_new_privs", () => {
  test("all five sets, applied around the switch to a non-root user", async () => {
    const r = await probe(["cat", "/proc/self/status"], (s) => {
      s.process!.user = { uid: 1000, gid: 1000 };
      s.process!.capabilities = {
        bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        effective: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        permitted: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        inheritable: ["CAP_NET_BIND_SERVICE"],
        ambient: ["CAP_NET_BIND_SERVICE"],
      };
    });
    expect(r.stderr).toBe("");
    // after execve a non-root process keeps only its ambient set (bit 10) in permitted and effective
    expect(statusLine(r.stdout, "CapBnd")).toBe("0000000000000421");
    expect(statusLine(r.stdout, "CapInh")).toBe("0000000000000400");
    expect(statusLine(r.stdout, "CapPrm")).toBe("0000000000000400");
    expect(statusLine(r.stdout, "CapEff")).toBe("0000000000000400");
    expect(statusLine(r.stdout, "CapAmb")).toBe("0000000000000400");
    expect(statusLine(r.stdout, "NoNewPrivs")).toBe("0");
  });

  test("root keeps its bounding set; noNewPrivileges sets no_new_privs", async () => {
    const r = await probe(["cat", "/proc/self/status"], (s) => {
      s.process!.capabilities = { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] };
      s.process!.noNewPrivileges = true;
    });
    expect(statusLine(r.stdout, "CapBnd")).toBe("0000000000000020");
    expect(statusLine(r.stdout, "CapEff")).toBe("0000000000000020");
    expect(statusLine(r.stdout, "NoNewPrivs")).toBe("1");
  });

  test("an unknown capability is an error naming it and its field", async () => {
    const r = await probe(["pid"], (s) => (s.process!.capabilities = { bounding: ["CAP_FLY"] }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('process.capabilities.bounding: unknown capability "CAP_FLY"');
  });
});

describe.skipIf(!isRoot)("seccomp", () => {
  const profile = (s: Spec) =>
    (s.linux!.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }],
    });

  for (const nnp of [false, true]) {
    test(`a denied call returns the chosen errno, an allowed one works (noNewPrivileges ${nnp})`, async () => {
      const edit = (s: Spec) => {
        profile(s);
        s.process!.noNewPrivileges = nnp;
        s.process!.capabilities = { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] };
      };
      const denied = await probe(["mkdir", "/tmp/x"], edit);
      expect(denied.stdout).toBe("mkdir errno 13 Permission denied\n");
      expect(denied.status).toBe(1);
      const allowed = await probe(["pid"], edit);
      expect(allowed.stdout).toBe("1\n");
      expect(allowed.status).toBe(0);
    });
  }

  test("an unknown action or architecture is an error naming it", async () => {
    const action = await probe(["pid"], (s) => (s.linux!.seccomp = { defaultAction: "SCMP_ACT_EXPLODE" as never }));
    expect(action.status).toBe(1);
    expect(action.stderr).toContain("SCMP_ACT_EXPLODE");
    const arch = await probe(["pid"], (s) => (s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_VAX"] }));
    expect(arch.status).toBe(1);
    expect(arch.stderr).toContain("SCMP_ARCH_VAX");
  });
});

describe.skipIf(!isRoot)("paths and devices", () => {
  test("masked paths are unreadable and read-only paths refuse writes", async () => {
    const edit = (s: Spec) => {
      s.linux!.maskedPaths = ["/proc/timer_list", "/sys/firmware", "/proc/does-not-exist"];
      s.linux!.readonlyPaths = ["/proc/sys"];
    };
    const kcore = await probe(["cat", "/proc/timer_list"], edit);
    expect(kcore.stderr).toBe("");
    expect(kcore.status).toBe(0);
    expect(kcore.stdout).toBe("");
    expect((await probe(["ls", "/sys/firmware"], edit)).stdout).toBe("");
    const write = await probe(["write", "/proc/sys/kernel/domainname"], edit);
    expect(write.stdout).toContain("Read-only file system");
    expect(write.status).toBe(1);
  });

  test("linux.devices: the node with its type, numbers and mode", async () => {
    const r = await probe(["ls", "/dev/extra"], (s) => (s.linux!.devices = [{ path: "/dev/extra/null2", type: "c", major: 1, minor: 3, fileMode: 0o600 }]));
    expect(r.stdout).toBe("null2 c 600 1:3\n");
  });
});

describe.skipIf(!isRoot)("user namespaces", () => {
  test("the maps are written before the process runs, and it is root inside", async () => {
    // the container's root (host uid 100000) must reach the rootfs
    chmodSync(ws.work, 0o755);
    const edit = (s: Spec) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    };
    const map = await probe(["cat", "/proc/self/uid_map"], edit);
    expect(map.stderr).toBe("");
    expect(map.stdout.trim().split(/\s+/)).toEqual(["0", "100000", "65536"]);
    expect((await probe(["id"], edit)).stdout).toBe("uid=0 gid=0 euid=0 egid=0\n");
  });
});

describe.skipIf(!isRoot)("terminal", () => {
  test("the pty master arrives on the console socket; the process has a tty of the spec's size", async () => {
    const socketPath = join(ws.work, "console.sock");
    const listener = unixListen(socketPath);
    try {
      const spec = defaultSpec(["/init", "tty"]);
      spec.process!.terminal = true;
      spec.process!.consoleSize = { height: 30, width: 100 };
      ws.bundle.write(spec);
      const id = ws.nextId();
      const cli = oci(["--root", ws.root, "run", "--detach", "--console-socket", socketPath, "--bundle", ws.bundle.dir, id]);
      const got = receivePtyMaster(listener);
      expect(got.fd).toBeGreaterThan(2);
      expect(new TextDecoder().decode(got.data)).toMatch(/^\/dev\/pts\/\d+$/);
      expect((await cli).status).toBe(0);
      const output = readUntilClosed(got.fd);
      closeFd(got.fd);
      expect(output).toMatch(/isatty 1 1 1 name \/dev\/pts\/\d+ size 30 100/);
      await oci(["--root", ws.root, "delete", "--force", id]);
    } finally {
      closeFd(listener);
    }
  });

  test("a console socket that does not exist is an error, and nothing is left behind", async () => {
    const spec = defaultSpec(["/init", "tty"]);
    spec.process!.terminal = true;
    ws.bundle.write(spec);
    const id = ws.nextId();
    const r = await oci(["--root", ws.root, "create", "--console-socket", join(ws.work, "missing.sock"), "--bundle", ws.bundle.dir, id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`console socket ${join(ws.work, "missing.sock")} does not exist`);
    expect(existsSync(join(ws.root, id))).toBe(false);
    expect(cgroupDirsOf(id)).toEqual([]);
    expect(mountsUnder(ws.bundle.rootfs)).toEqual([]);
  });
});

describe.skipIf(!isRoot)("hooks", () => {
  test("every kind runs in order, with the state on stdin", async () => {
    const log = join(ws.work, "hooks.log");
    writeFileSync(log, "");
    const host = (name: string) => ({ path: "/bin/sh", args: ["sh", "-c", `cat > ${ws.work}/${name}.json; echo ${name} >> ${log}`] });
    const spec = defaultSpec(["/init", "pid"]);
    spec.annotations = { "org.test": "yes" };
    spec.hooks = {
      prestart: [host("prestart")],
      createRuntime: [host("createRuntime")],
      createContainer: [host("createContainer")],
      // after the pivot: a path and a file inside the container
      startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "cat > /startContainer.json"] }],
      poststart: [host("poststart")],
      poststop: [host("poststop")],
    };
    ws.bundle.write(spec);
    const id = ws.nextId();
    const r = await oci(["--root", ws.root, "run", "--bundle", ws.bundle.dir, id]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readFileSync(log, "utf8")).toBe("prestart\ncreateRuntime\ncreateContainer\npoststart\npoststop\n");
    const state = (file: string) => JSON.parse(readFileSync(file, "utf8"));
    for (const [name, status] of [["prestart", "creating"], ["createRuntime", "creating"], ["createContainer", "creating"], ["poststart", "running"], ["poststop", "stopped"]]) {
      expect(state(join(ws.work, `${name}.json`))).toMatchObject({ id, status, bundle: ws.bundle.dir, annotations: { "org.test": "yes" } });
    }
    expect(state(join(ws.work, "prestart.json")).pid).toBeGreaterThan(1);
    // createContainer and startContainer see the container's own pid, as runc's init reports it
    expect(state(join(ws.work, "createContainer.json")).pid).toBe(1);
    expect(state(join(ws.bundle.rootfs, "startContainer.json"))).toMatchObject({ id, status: "created", pid: 1 });
  });

  test("a failing prestart hook fails the container and leaves nothing behind", async () => {
    const spec = defaultSpec(["/init", "pid"]);
    spec.hooks = { prestart: [{ path: "/bin/sh", args: ["sh", "-c", "echo no way >&2; exit 3"] }] };
    ws.bundle.write(spec);
    const id = ws.nextId();
    const r = await oci(["--root", ws.root, "run", "--bundle", ws.bundle.dir, id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("hooks.prestart[0] /bin/sh: exit status 3: no way");
    expect(existsSync(join(ws.root, id))).toBe(false);
    expect(cgroupDirsOf(id)).toEqual([]);
  });
});

describe.skipIf(!isRoot)("--preserve-fds", () => {
  test("the caller's fds 3 and 4 are the process's 3 and 4, and nothing else leaks", async () => {
    writeFileSync(join(ws.work, "three"), "three\n");
    writeFileSync(join(ws.work, "four"), "four\n");
    const fds = [openSync(join(ws.work, "three"), "r"), openSync(join(ws.work, "four"), "r")];
    try {
      const run = async (args: string[]) => {
        ws.bundle.write(defaultSpec(["/init", ...args]));
        const out = join(ws.work, `pf-${args.join("-").replaceAll("/", "_")}.out`);
        const proc = Bun.spawn([process.execPath, SOURCE_MAIN, "oci", "--root", ws.root, "run", "--preserve-fds", "2", "--bundle", ws.bundle.dir, ws.nextId()], {
          stdio: ["ignore", Bun.file(out), "inherit", fds[0]!, fds[1]!],
        });
        expect(await proc.exited).toBe(0);
        return readFileSync(out, "utf8");
      };
      expect(await run(["cat", "/proc/self/fd/3"])).toBe("three\n");
      expect(await run(["cat", "/proc/self/fd/4"])).toBe("four\n");
      // 0-2, the two preserved, and the directory ls reads
      expect((await run(["ls", "/proc/self/fd"])).split("\n").filter(Boolean).map((l) => l.split(" ")[0])).toEqual(["0", "1", "2", "3", "4", "5"]);
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
  });
});
