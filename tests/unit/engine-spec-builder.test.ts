import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ContainerDefaults } from "../../src/image/manifest.ts";
import { CAPABILITIES, DOCKER_DEFAULT_CAPABILITIES } from "../../src/linux/capabilities.ts";
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from "../../src/oci/defaults.ts";
import type { Mount, Spec } from "../../src/oci/spec.ts";
import { parseRunOptions, type RunFlags } from "../../src/engine/run-options.ts";
import {
  boundingCapabilities,
  buildSpec,
  hostDevices,
  RLIM_INFINITY,
  type BuiltSpec,
  type SpecHost,
} from "../../src/engine/spec-builder.ts";
import { errorOf } from "../helpers/errors.ts";
import { accountsRootfs } from "../helpers/rootfs-accounts.ts";

const ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const HOST: SpecHost = {
  hostname: "the-host",
  lastCap: 40,
  heldCapabilities: new Set(CAPABILITIES),
  seccompArch: "SCMP_ARCH_X86_64",
  kernelRelease: "6.18.0",
  cgroupNamespace: false,
  sysctls: new Set(["net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"]),
  devices: () => [{ type: "c", path: "/dev/kmsg", major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }],
};
const IMAGE: ContainerDefaults = {
  Env: ["PATH=/opt/bin:/bin", "IMAGE_ONLY=1", "SHARED=image"],
  Entrypoint: ["/entry.sh"],
  Cmd: ["serve", "--port", "80"],
  WorkingDir: "/app",
  Labels: { maintainer: "image", tier: "base" },
  StopSignal: "SIGQUIT",
};

const fixture = accountsRootfs("containr-spec-", {
  passwd: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
  group: "root:x:0:\napp:x:1000:\nvideo:x:44:app\n",
});

interface BuildArgs {
  flags?: RunFlags;
  command?: string[];
  image?: ContainerDefaults | undefined;
  host?: SpecHost;
  initBinary?: string;
  initPath?: string;
  etc?: boolean;
}

function build(args: BuildArgs = {}): BuiltSpec {
  const options = parseRunOptions({
    image: "example/app:1",
    flags: args.flags ?? {},
    command: args.command ?? [],
    environment: {},
    host: { cpus: [0, 1], swapLimit: true },
  });
  return buildSpec({
    id: ID,
    rootfs: fixture.rootfs,
    options,
    image: "image" in args ? args.image : IMAGE,
    host: args.host ?? HOST,
    initBinary: args.initBinary,
    initPath: args.initPath,
    etcFiles: args.etc ? { hosts: "/c/hosts", hostname: "/c/hostname", resolvConf: "/c/resolv.conf" } : undefined,
  });
}

const spec = (args: BuildArgs = {}): Spec => build(args).spec;
const mount = (s: Spec, destination: string): Mount | undefined => s.mounts?.find((m) => m.destination === destination);

describe("entrypoint and command", () => {
  test("the image's Entrypoint + Cmd by default", () => {
    expect(spec().process?.args).toEqual(["/entry.sh", "serve", "--port", "80"]);
  });

  test("a command after the image replaces Cmd and keeps the Entrypoint", () => {
    expect(spec({ command: ["debug"] }).process?.args).toEqual(["/entry.sh", "debug"]);
  });

  test("--entrypoint replaces the Entrypoint and resets the image's Cmd", () => {
    expect(spec({ flags: { entrypoint: "/bin/sh" } }).process?.args).toEqual(["/bin/sh"]);
    expect(spec({ flags: { entrypoint: "/bin/sh" }, command: ["-c", "id"] }).process?.args).toEqual(["/bin/sh", "-c", "id"]);
  });

  test('--entrypoint "" clears the Entrypoint: the command alone runs', () => {
    const built = build({ flags: { entrypoint: "" }, command: ["ls", "-l"] });
    expect(built.spec.process?.args).toEqual(["ls", "-l"]);
    expect(built.config.Entrypoint).toBeNull();
    expect(built.config.Cmd).toEqual(["ls", "-l"]);
  });

  test("nothing to run is Docker's error", () => {
    const e = errorOf(() => build({ flags: { entrypoint: "" } }));
    expect(e.message).toBe("no command specified");
    expect(e.exit).toBe(125);
    expect(errorOf(() => build({ image: undefined })).message).toBe("no command specified");
  });
});

describe("environment", () => {
  test("user entries, then the image's; the image's PATH replaces the default; HOSTNAME is set", () => {
    const env = spec({ flags: { env: ["SHARED=user", "EXTRA=x"] } }).process?.env;
    expect(env).toEqual(["PATH=/opt/bin:/bin", `HOSTNAME=${ID.slice(0, 12)}`, "SHARED=user", "EXTRA=x", "IMAGE_ONLY=1", "HOME=/root"]);
  });

  test("Docker's PATH when the image has none, and TERM=xterm with -t", () => {
    const env = spec({ image: { Cmd: ["sh"] }, flags: { tty: true } }).process?.env;
    expect(env).toEqual([
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      `HOSTNAME=${ID.slice(0, 12)}`,
      "TERM=xterm",
      "HOME=/root",
    ]);
  });

  test("HOME comes from the user's passwd entry unless the image or -e sets it", () => {
    expect(spec({ flags: { user: "app" } }).process?.env).toContain("HOME=/home/app");
    expect(spec({ flags: { user: "4242" } }).process?.env).toContain("HOME=/");
    const env = spec({ flags: { env: ["HOME=/data"] } }).process?.env ?? [];
    expect(env.filter((e) => e.startsWith("HOME="))).toEqual(["HOME=/data"]);
  });

  test("-e NAME for a name the caller has not set removes the image's NAME", () => {
    expect(spec({ flags: { env: ["IMAGE_ONLY"] } }).process?.env).not.toContain("IMAGE_ONLY=1");
  });

  test("-e can override HOSTNAME and PATH", () => {
    const env = spec({ flags: { env: ["PATH=/x", "HOSTNAME=custom"] } }).process?.env ?? [];
    expect(env.slice(0, 2)).toEqual(["PATH=/x", "HOSTNAME=custom"]);
  });
});

describe("process", () => {
  test("cwd: the image's WorkingDir, -w over it, / when neither", () => {
    expect(spec().process?.cwd).toBe("/app");
    expect(spec({ flags: { workdir: "/data" } }).process?.cwd).toBe("/data");
    expect(spec({ image: { Cmd: ["sh"] } }).process?.cwd).toBe("/");
  });

  test("user: root by default, the image's User, -u over it, with supplementary groups", () => {
    expect(spec().process?.user).toEqual({ uid: 0, gid: 0, additionalGids: [0] });
    expect(spec({ image: { ...IMAGE, User: "app" } }).process?.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 44] });
    expect(spec({ image: { ...IMAGE, User: "app" }, flags: { user: "5:6" } }).process?.user).toEqual({ uid: 5, gid: 6, additionalGids: [6] });
    expect(errorOf(() => build({ flags: { user: "ghost" } })).message).toBe("unable to find user ghost: no matching entries in passwd file");
  });

  test("hostname: the short id, -h over it, the host's with --network host", () => {
    expect(spec().hostname).toBe(ID.slice(0, 12));
    expect(spec({ flags: { hostname: "web" } }).hostname).toBe("web");
    expect(spec({ flags: { network: "host" } }).hostname).toBe("the-host");
  });

  test("terminal follows -t; no-new-privileges follows --security-opt", () => {
    expect(spec({ flags: { tty: true } }).process?.terminal).toBe(true);
    expect(spec().process?.noNewPrivileges).toBe(false);
    expect(spec({ flags: { securityOpt: ["no-new-privileges"] } }).process?.noNewPrivileges).toBe(true);
  });

  test("--ulimit becomes rlimits; -1 is RLIM_INFINITY", () => {
    expect(spec({ flags: { ulimit: ["nofile=1024:2048", "core=-1", "memlock=65536"] } }).process?.rlimits).toEqual([
      { type: "RLIMIT_NOFILE", soft: 1024, hard: 2048 },
      { type: "RLIMIT_CORE", soft: RLIM_INFINITY, hard: RLIM_INFINITY },
      { type: "RLIMIT_MEMLOCK", soft: 65536, hard: 65536 },
    ]);
    expect(spec().process?.rlimits).toBeUndefined();
  });

  test("--init runs the init as pid 1 with the command after --, and mounts it read-only", () => {
    const s = spec({ flags: { init: true }, initBinary: "/usr/libexec/containr/init" });
    expect(s.process?.args).toEqual(["/sbin/containr-reaper", "--", "/entry.sh", "serve", "--port", "80"]);
    expect(mount(s, "/sbin/containr-reaper")).toEqual({
      destination: "/sbin/containr-reaper",
      type: "bind",
      source: "/usr/libexec/containr/init",
      options: ["bind", "ro"],
    });
    const custom = spec({ flags: { init: true }, initBinary: "/i", initPath: "/.init" });
    expect(custom.process?.args?.slice(0, 2)).toEqual(["/.init", "--"]);
  });
});

describe("config (what inspect shows)", () => {
  test("labels merged with the user's winning, stop signal and timeout", () => {
    const { config } = build({ flags: { label: ["tier=web"] } });
    expect(config.Labels).toEqual({ maintainer: "image", tier: "web" });
    expect(config.StopSignal).toBe("SIGQUIT");
    expect(config.StopTimeout).toBe(10);
    expect(build({ flags: { stopSignal: "INT", stopTimeout: "3" } }).config).toMatchObject({ StopSignal: "SIGINT", StopTimeout: 3 });
    expect(build({ image: { Cmd: ["x"] } }).config.StopSignal).toBe("SIGTERM");
  });
});

describe("mounts, masked and read-only paths", () => {
  test("Docker's default mounts, /dev/shm sized 64m, masked and read-only paths", () => {
    const s = spec();
    expect(s.mounts?.map((m) => m.destination)).toEqual(["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]);
    expect(mount(s, "/dev/shm")?.options).toContain("size=67108864");
    expect(mount(s, "/sys")?.options).toContain("ro");
    expect(mount(s, "/sys/fs/cgroup")?.options).toContain("ro");
    expect(s.linux?.maskedPaths).toEqual(DEFAULT_MASKED_PATHS);
    expect(s.linux?.maskedPaths).toContain("/sys/devices/virtual/powercap");
    expect(s.linux?.readonlyPaths).toEqual(DEFAULT_READONLY_PATHS);
    expect(s.root).toEqual({ path: fixture.rootfs, readonly: false });
  });

  test("the per-container /etc files are bind-mounted", () => {
    const s = spec({ etc: true });
    expect(mount(s, "/etc/hosts")).toEqual({ destination: "/etc/hosts", type: "bind", source: "/c/hosts", options: ["rbind", "rprivate"] });
    expect(mount(s, "/etc/resolv.conf")?.source).toBe("/c/resolv.conf");
    expect(mount(s, "/etc/hostname")?.source).toBe("/c/hostname");
  });

  test("--tmpfs adds tmpfs mounts; one over a default replaces it", () => {
    const s = spec({ flags: { tmpfs: ["/run:size=1m", "/dev/shm:size=8m"] } });
    expect(mount(s, "/run")).toEqual({ destination: "/run", type: "tmpfs", source: "tmpfs", options: ["noexec", "nosuid", "nodev", "rprivate", "size=1m"] });
    const shm = s.mounts?.filter((m) => m.destination === "/dev/shm") ?? [];
    expect(shm).toHaveLength(1);
    expect(shm[0]?.options).toContain("size=8m");
  });

  test("--read-only: a read-only root, ro on /sys and friends, /proc, /dev and user tmpfs stay writable", () => {
    const s = spec({ flags: { readOnly: true, tmpfs: ["/tmp"] }, etc: true });
    expect(s.root?.readonly).toBe(true);
    for (const d of ["/proc", "/dev", "/dev/pts", "/dev/mqueue", "/dev/shm", "/tmp"]) expect(mount(s, d)?.options).not.toContain("ro");
    for (const d of ["/sys", "/sys/fs/cgroup", "/etc/hosts", "/etc/resolv.conf"]) expect(mount(s, d)?.options).toContain("ro");
  });
});

describe("namespaces, resources and devices", () => {
  test("a private network namespace by default, none with --network host; Docker's network sysctls", () => {
    expect(spec().linux?.namespaces).toEqual([{ type: "mount" }, { type: "network" }, { type: "uts" }, { type: "pid" }, { type: "ipc" }]);
    expect(spec().linux?.sysctl).toEqual({ "net.ipv4.ping_group_range": "0 2147483647", "net.ipv4.ip_unprivileged_port_start": "0" });
    const host = spec({ flags: { network: "host" } });
    expect(host.linux?.namespaces?.map((n) => n.type)).toEqual(["mount", "uts", "pid", "ipc"]);
    expect(host.linux?.sysctl).toBeUndefined();
    expect(spec({ host: { ...HOST, cgroupNamespace: true } }).linux?.namespaces?.map((n) => n.type)).toContain("cgroup");
  });

  test("resources from --memory, --memory-swap, --cpus, --cpu-shares, --cpuset-cpus, --pids-limit", () => {
    const r = spec({
      flags: { memory: 64 * 1024 * 1024, memorySwap: -1, cpus: "1.5", cpuShares: "512", cpusetCpus: "0", pidsLimit: "100" },
    }).linux?.resources;
    expect(r?.memory).toEqual({ limit: 67108864, swap: -1 });
    expect(r?.cpu).toEqual({ shares: 512, period: 100000, quota: 150000, cpus: "0" });
    expect(r?.pids).toEqual({ limit: 100 });
    const none = spec().linux?.resources;
    expect(none?.memory).toBeUndefined();
    expect(none?.cpu).toBeUndefined();
    expect(none?.pids).toBeUndefined();
  });

  test("device rules deny by default and allow the standard devices", () => {
    const rules = spec().linux?.resources?.devices ?? [];
    expect(rules[0]).toEqual({ allow: false, access: "rwm" });
    expect(rules).toContainEqual({ allow: true, type: "c", major: 1, minor: 3, access: "rwm" });
    expect(rules).toContainEqual({ allow: true, type: "c", major: 136, access: "rwm" });
    expect(spec().linux?.devices).toEqual([]);
    expect(spec().linux?.cgroupsPath).toBe(`/containr/${ID}`);
  });
});

describe("capabilities and seccomp", () => {
  test("Docker's 14 default capabilities, no inheritable or ambient", () => {
    const caps = spec().process?.capabilities;
    expect(caps?.bounding).toEqual([...DOCKER_DEFAULT_CAPABILITIES]);
    expect(caps?.effective).toEqual([...DOCKER_DEFAULT_CAPABILITIES]);
    expect(caps?.permitted).toEqual([...DOCKER_DEFAULT_CAPABILITIES]);
    expect(caps?.inheritable).toBeUndefined();
    expect(caps?.ambient).toBeUndefined();
  });

  test("--cap-add and --cap-drop", () => {
    const caps = spec({ flags: { capAdd: ["sys_admin"], capDrop: ["CAP_NET_RAW", "chown"] } }).process?.capabilities?.bounding ?? [];
    expect(caps).toContain("CAP_SYS_ADMIN");
    expect(caps).not.toContain("CAP_NET_RAW");
    expect(caps).not.toContain("CAP_CHOWN");
    expect(spec({ flags: { capDrop: ["ALL"], capAdd: ["KILL"] } }).process?.capabilities?.bounding).toEqual(["CAP_KILL"]);
    expect(errorOf(() => build({ flags: { capAdd: ["NOT_A_CAP"] } })).code).toBe("USAGE");
  });

  test("a non-root user gets only the bounding set, as Docker", () => {
    const caps = spec({ flags: { user: "app" } }).process?.capabilities;
    expect(caps?.bounding).toEqual([...DOCKER_DEFAULT_CAPABILITIES]);
    expect(caps?.effective).toBeUndefined();
    expect(caps?.permitted).toBeUndefined();
  });

  test("the default seccomp profile: errno by default, capability-gated rules follow --cap-add", () => {
    const seccomp = spec().linux?.seccomp;
    expect(seccomp?.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(seccomp?.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    const allowed = (s: Spec | undefined) =>
      new Set((s?.linux?.seccomp?.syscalls ?? []).filter((r) => r.action === "SCMP_ACT_ALLOW" && !r.args).flatMap((r) => r.names));
    expect(allowed(spec()).has("read")).toBe(true);
    expect(allowed(spec()).has("mount")).toBe(false);
    expect(allowed(spec({ flags: { capAdd: ["SYS_ADMIN"] } })).has("mount")).toBe(true);
  });

  test("seccomp=unconfined has none; seccomp=PROFILE.json uses the file", () => {
    expect(spec({ flags: { securityOpt: ["seccomp=unconfined"] } }).linux?.seccomp).toBeUndefined();
    const file = join(fixture.base, "profile.json");
    writeFileSync(file, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] }));
    const seccomp = spec({ flags: { securityOpt: [`seccomp=${file}`] } }).linux?.seccomp;
    expect(seccomp?.defaultAction).toBe("SCMP_ACT_ALLOW");
    expect(seccomp?.syscalls).toEqual([{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }]);
  });

  test("--privileged: every capability, no seccomp, no masked or read-only paths, host devices, writable /sys", () => {
    const s = spec({ flags: { privileged: true } });
    expect(s.process?.capabilities?.bounding).toEqual([...CAPABILITIES]);
    expect(s.linux?.seccomp).toBeUndefined();
    expect(s.linux?.maskedPaths).toBeUndefined();
    expect(s.linux?.readonlyPaths).toBeUndefined();
    expect(s.linux?.devices).toEqual(HOST.devices());
    expect(s.linux?.resources?.devices).toEqual([{ allow: true, access: "rwm" }]);
    expect(mount(s, "/sys")?.options).not.toContain("ro");
    expect(mount(s, "/sys/fs/cgroup")?.options).not.toContain("ro");
    expect(spec({ flags: { privileged: true }, host: { ...HOST, lastCap: 37 } }).process?.capabilities?.bounding).toHaveLength(38);
  });
});

describe("capabilities the host withholds", () => {
  const withholding: SpecHost = { ...HOST, heldCapabilities: new Set(CAPABILITIES.filter((c) => c !== "CAP_SYS_RESOURCE")) };

  test("--privileged and --cap-add ALL get what the host holds", () => {
    const privileged = spec({ flags: { privileged: true }, host: withholding }).process?.capabilities?.bounding ?? [];
    expect(privileged).toHaveLength(CAPABILITIES.length - 1);
    expect(privileged).not.toContain("CAP_SYS_RESOURCE");
    expect(spec({ flags: { capAdd: ["ALL"] }, host: withholding }).process?.capabilities?.bounding).not.toContain("CAP_SYS_RESOURCE");
  });

  test("naming a withheld capability is an error before anything runs", () => {
    const e = errorOf(() => build({ flags: { capAdd: ["SYS_RESOURCE"] }, host: withholding }));
    expect(e.code).toBe("PERMISSION_DENIED");
    expect(e.message).toBe("--cap-add: this host does not grant CAP_SYS_RESOURCE to containr");
  });

  test("this process's bounding set is read from /proc/self/status", () => {
    const file = join(fixture.base, "status");
    writeFileSync(file, "Name:\tx\nCapBnd:\t0000000000000003\n");
    expect([...boundingCapabilities(file)]).toEqual(["CAP_CHOWN", "CAP_DAC_OVERRIDE"]);
  });
});

describe("host devices for --privileged", () => {
  test("/dev/null is a character device 1:3; pts and symlinks are skipped", () => {
    const devices = hostDevices("/dev");
    expect(devices).toContainEqual(expect.objectContaining({ type: "c", path: "/dev/null", major: 1, minor: 3 }));
    expect(devices.some((d) => d.path.startsWith("/dev/pts/"))).toBe(false);
    expect(devices.some((d) => d.path === "/dev/console")).toBe(false);
  });
});
