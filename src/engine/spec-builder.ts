/**
 * RunOptions + the image's config → the OCI runtime spec (config.json) of a
 * container, set up as Docker sets it up: moby's oci.DefaultLinuxSpec, then
 * daemon/oci_linux.go's WithCommonOptions (args, cwd, env, hostname, init),
 * WithResources, WithDevices, WithRlimits, WithNamespaces,
 * WithCapabilities, WithSeccomp and WithMounts, with the image merged into
 * the container's config as daemon/commit.go merge() and create.go do.
 *
 * The only file reads are the image's /etc/passwd and /etc/group (through
 * users.ts, confined to the rootfs); everything about the host comes in as
 * SpecHost, which probeSpecHost() fills for the running host and tests
 * replace.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { hostname as osHostname, release } from "node:os";
import { join, posix } from "node:path";
import { ContainrError } from "../diag/errors.ts";
import type { ContainerDefaults } from "../image/manifest.ts";
import { log } from "../diag/log.ts";
import { CAPABILITIES, DOCKER_DEFAULT_CAPABILITIES, dockerCapabilitySets, kernelLastCap, tweakCapabilities } from "../linux/capabilities.ts";
import { nativeSeccompArch } from "../linux/seccomp/arch.ts";
import { DEFAULT_MASKED_PATHS, DEFAULT_PATH_ENV, DEFAULT_READONLY_PATHS, OCI_VERSION, devMount, devptsMount, mqueueMount, sysfsMount } from "../oci/defaults.ts";
import type { Device, DeviceCgroupRule, Mount, Namespace, Resources, Rlimit, Seccomp, Spec } from "../oci/spec.ts";
import type { RunOptions } from "./run-options.ts";
import { DOCKER_DEFAULT_SECCOMP_PROFILE } from "./seccomp-default.ts";
import { dockerSeccompToOci, type DockerSeccompProfile } from "./seccomp-profile.ts";
import { canonicalSignal, DEFAULT_STOP_SIGNAL } from "../linux/signals.ts";
import { resolveUser, type ResolvedUser } from "./users.ts";

/** Where --init's binary appears inside the container (Docker's is /sbin/docker-init). */
export const DEFAULT_INIT_PATH = "/sbin/containr-reaper";

/** Docker's default /dev/shm size (daemon config DefaultShmSize, 64 MiB). */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** Seconds `stop` waits before SIGKILL when neither --stop-timeout nor the image says (Docker's 10). */
export const DEFAULT_STOP_TIMEOUT = 10;

/** CFS period Docker fixes for --cpus (100 ms in µs). */
export const CPU_PERIOD = 100_000;

/** RLIM_INFINITY as a spec number (the runtime reads anything ≥ 2^63 as infinity). */
export const RLIM_INFINITY = 2 ** 64 - 1;

/** Docker's default mounts (oci.DefaultLinuxSpec); /dev/shm gets its size in buildSpec. */
function defaultMounts(): Mount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    devMount(),
    devptsMount(),
    sysfsMount(),
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid", "noexec", "nodev"] },
    mqueueMount(),
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777"] },
  ];
}

/** Mounts a read-only root leaves writable (moby WithMounts). */
const WRITABLE_WITH_READONLY_ROOT = new Set(["/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"]);

const rule = (allow: boolean, type: DeviceCgroupRule["type"], major: number | undefined, minor: number | undefined): DeviceCgroupRule => {
  const r: DeviceCgroupRule = { allow, access: "rwm" };
  if (type !== undefined) r.type = type;
  if (major !== undefined) r.major = major;
  if (minor !== undefined) r.minor = minor;
  return r;
};

/**
 * The device cgroup rules of an unprivileged container: Docker's list (deny
 * all; null, zero, random, urandom, tty, console; fuse denied) followed by
 * the rules runc adds for the devices every container gets (mknod of any
 * node, /dev/full, /dev/ptmx and the devpts ptys), so the list is complete
 * in config.json rather than implied by a runtime.
 */
export function defaultDeviceRules(): DeviceCgroupRule[] {
  return [
    rule(false, undefined, undefined, undefined),
    rule(true, "c", 1, 5),
    rule(true, "c", 1, 3),
    rule(true, "c", 1, 9),
    rule(true, "c", 1, 8),
    rule(true, "c", 5, 0),
    rule(true, "c", 5, 1),
    rule(false, "c", 10, 229),
    { allow: true, type: "c", access: "m" },
    { allow: true, type: "b", access: "m" },
    rule(true, "c", 1, 7),
    rule(true, "c", 5, 2),
    { allow: true, type: "c", major: 136, access: "rwm" },
  ];
}

/** What the spec needs to know about the host; probeSpecHost() reads the running one. */
export interface SpecHost {
  /** the host's hostname: the container's with --network host */
  hostname: string;
  /** /proc/sys/kernel/cap_last_cap */
  lastCap: number;
  /**
   * The capabilities this process can pass on (its bounding set): a host
   * may withhold some (this VM withholds CAP_SYS_RESOURCE), and asking the
   * kernel for one of those fails the container's start.
   */
  heldCapabilities: ReadonlySet<string>;
  /** libseccomp name of the native architecture */
  seccompArch: string;
  /** uname -r, for the seccomp profile's minKernel rules */
  kernelRelease: string;
  /** a private cgroup namespace, Docker's default on a cgroup v2 host (v1 and hybrid hosts share the host's) */
  cgroupNamespace: boolean;
  /** sysctls this kernel has (Docker only sets the network ones that exist) */
  sysctls: ReadonlySet<string>;
  /** the host's device nodes, for --privileged */
  devices: () => Device[];
}

/** The network sysctls Docker sets in a container's own network namespace. */
const NETWORK_SYSCTLS: Record<string, string> = {
  // unprivileged ICMP echo sockets (ping) without CAP_NET_RAW
  "net.ipv4.ping_group_range": "0 2147483647",
  // binding ports below 1024 without CAP_NET_BIND_SERVICE
  "net.ipv4.ip_unprivileged_port_start": "0",
};

/** The running host, as buildSpec sees it. */
export function probeSpecHost(): SpecHost {
  const sysctls = new Set(
    Object.keys(NETWORK_SYSCTLS).filter((name) => existsSync(`/proc/sys/${name.replaceAll(".", "/")}`)),
  );
  return {
    hostname: osHostname(),
    lastCap: kernelLastCap(),
    heldCapabilities: boundingCapabilities(),
    seccompArch: nativeSeccompArch(),
    kernelRelease: release(),
    cgroupNamespace: isCgroupV2Only(),
    sysctls,
    devices: () => hostDevices(),
  };
}

/** The names of the capabilities in this process's bounding set (CapBnd in /proc/self/status). */
export function boundingCapabilities(status = "/proc/self/status"): Set<string> {
  const line = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync(status, "utf8"));
  const mask = BigInt(`0x${line?.[1] ?? "0"}`);
  return new Set(CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n));
}

/**
 * The container's capabilities, limited to what the host holds: --privileged
 * and --cap-add ALL mean "all there is" and silently get fewer; a capability
 * asked for by name that the host withholds is an error, not a failed start.
 */
function containerCapabilities(options: RunOptions, host: SpecHost): string[] {
  const caps = tweakCapabilities(DOCKER_DEFAULT_CAPABILITIES, { add: options.capAdd, drop: options.capDrop, privileged: options.privileged }, host.lastCap);
  const withheld = caps.filter((c) => !host.heldCapabilities.has(c));
  if (withheld.length === 0) return caps;
  const wantsAll = options.privileged || options.capAdd.some((c) => c.trim().toUpperCase() === "ALL");
  if (wantsAll) {
    log.debug(`capabilities this host withholds, not given to the container: ${withheld.join(", ")}`);
    return caps.filter((c) => host.heldCapabilities.has(c));
  }
  throw new ContainrError("PERMISSION_DENIED", `--cap-add: this host does not grant ${withheld.join(", ")} to containr`, {
    hint: "the capability is missing from containr's own bounding set (see CapBnd in /proc/self/status); drop it from --cap-add",
  });
}

function isCgroupV2Only(): boolean {
  // cgroup2 mounted at /sys/fs/cgroup itself (not at /sys/fs/cgroup/unified, as on a hybrid host).
  return existsSync("/sys/fs/cgroup/cgroup.controllers");
}

/** Directories of /dev that hold no host devices a privileged container should get (containerd's HostDevices). */
const SKIPPED_DEV_DIRS = new Set(["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]);

/**
 * The character and block devices under a /dev tree, as containerd's
 * HostDevices lists them for --privileged: symlinks, fifos, sockets,
 * /dev/console and the pts, shm, fd and mqueue directories are skipped.
 */
export function hostDevices(dir = "/dev"): Device[] {
  const out: Device[] = [];
  const walk = (hostDir: string, containerDir: string) => {
    let names: string[];
    try {
      names = readdirSync(hostDir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const host = join(hostDir, name);
      let st: ReturnType<typeof lstatSync>;
      try {
        st = lstatSync(host, { bigint: true });
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (!SKIPPED_DEV_DIRS.has(name)) walk(host, posix.join(containerDir, name));
        continue;
      }
      if (name === "console" || !(st.isCharacterDevice() || st.isBlockDevice())) continue;
      const rdev = st.rdev;
      out.push({
        type: st.isCharacterDevice() ? "c" : "b",
        path: posix.join(containerDir, name),
        major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
        minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
        fileMode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
      });
    }
  };
  walk(dir, "/dev");
  return out;
}

/** Host paths of the container's generated /etc files (etc-files.ts), bind-mounted over the image's. */
export interface EtcFilePaths {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export interface SpecInput {
  /** the container's 64-hex id */
  id: string;
  /** the root filesystem (absolute host path) */
  rootfs: string;
  options: RunOptions;
  /** the image's container defaults (its config's "config") */
  image?: ContainerDefaults;
  etcFiles?: EtcFilePaths;
  /** volumes, bind mounts and --mount tmpfs, resolved to host paths (mounts.ts prepareMounts) */
  volumeMounts?: Mount[];
  /** the init binary on the host, bind-mounted read-only when options.init */
  initBinary?: string;
  /** where the init appears in the container */
  initPath?: string;
  /** default "/containr/<id>" */
  cgroupsPath?: string;
  host?: SpecHost;
}

/** The container's configuration after the image was merged in: Docker's Config, as inspect shows it. */
export interface ContainerConfig {
  Hostname: string;
  User: string;
  Env: string[];
  Cmd: string[];
  Entrypoint: string[] | null;
  WorkingDir: string;
  Labels: Record<string, string>;
  StopSignal: string;
  StopTimeout: number;
  Tty: boolean;
  OpenStdin: boolean;
  Image: string;
}

export interface BuiltSpec {
  spec: Spec;
  config: ContainerConfig;
  user: ResolvedUser;
}

/**
 * The image's Env with the user's (-e, --env-file) merged in, as Docker's
 * merge() does: the user's entries first, then the image's that the user
 * did not name.
 */
export function mergeEnv(imageEnv: readonly string[], userEnv: readonly string[]): string[] {
  const key = (e: string) => (e.includes("=") ? e.slice(0, e.indexOf("=")) : e);
  const userKeys = new Set(userEnv.map(key));
  return [...userEnv, ...imageEnv.filter((e) => !userKeys.has(key(e)))];
}

/**
 * Overrides replace the defaults' entries of the same name in place or are
 * appended; an override without "=" removes the name (moby's
 * ReplaceOrAppendEnvValues).
 */
export function replaceOrAppendEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const out: (string | undefined)[] = [...defaults];
  const index = new Map<string, number>();
  out.forEach((e, i) => index.set((e as string).split("=", 1)[0] as string, i));
  for (const value of overrides) {
    const eq = value.indexOf("=");
    const name = eq < 0 ? value : value.slice(0, eq);
    const at = index.get(name);
    if (eq < 0) {
      if (at !== undefined) out[at] = undefined;
      continue;
    }
    if (at !== undefined && out[at] !== undefined) {
      out[at] = value;
    } else {
      index.set(name, out.length);
      out.push(value);
    }
  }
  return out.filter((e): e is string => e !== undefined);
}

/**
 * The process environment: PATH, HOSTNAME and (with -t) TERM, overridden by
 * the container's Env; then HOME from the user's passwd entry when nothing
 * set it (runc adds it at exec; here it is in config.json, so any runtime
 * gives the same environment).
 */
export function processEnv(configEnv: readonly string[], hostname: string, tty: boolean, home: string): string[] {
  const base = [`PATH=${DEFAULT_PATH_ENV}`, `HOSTNAME=${hostname}`];
  if (tty) base.push("TERM=xterm");
  const env = replaceOrAppendEnv(base, configEnv);
  if (!env.some((e) => e.startsWith("HOME="))) env.push(`HOME=${home}`);
  return env;
}

/** Entrypoint and Cmd after the image's were merged in (daemon merge() and create's reset of [""]). */
export function resolveCommand(options: RunOptions, image: ContainerDefaults | undefined): { entrypoint: string[]; cmd: string[] } {
  if (options.entrypoint !== undefined) return { entrypoint: options.entrypoint, cmd: options.command };
  const cmd = options.command.length > 0 ? options.command : [...(image?.Cmd ?? [])];
  return { entrypoint: [...(image?.Entrypoint ?? [])], cmd };
}

function depth(destination: string): number {
  return posix.normalize(destination).split("/").length;
}

function tmpfsAndEtcMounts(input: SpecInput): Mount[] {
  const { options } = input;
  const user: Mount[] = options.tmpfs.map((t) => ({ destination: t.destination, type: "tmpfs", source: "tmpfs", options: [...t.options] }));
  user.push(...(input.volumeMounts ?? []));
  if (input.etcFiles !== undefined) {
    const bindOptions = options.readOnly ? ["rbind", "rprivate", "ro"] : ["rbind", "rprivate"];
    const files: [string, string][] = [
      ["/etc/resolv.conf", input.etcFiles.resolvConf],
      ["/etc/hostname", input.etcFiles.hostname],
      ["/etc/hosts", input.etcFiles.hosts],
    ];
    for (const [destination, source] of files) {
      // A --tmpfs, volume or bind on the same path wins, as a user mount does over Docker's network files.
      if (!user.some((m) => m.destination === destination)) user.push({ destination, type: "bind", source, options: [...bindOptions] });
    }
  }
  // Parents before children (moby sorts mounts by the number of path components).
  return user.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i).map((x) => x.m);
}

function buildMounts(input: SpecInput, shmSize: number, initPath: string): Mount[] {
  const { options } = input;
  const userMounts = tmpfsAndEtcMounts(input);
  const userDestinations = new Set(userMounts.map((m) => m.destination));
  const userDev = userDestinations.has("/dev");
  const mounts: Mount[] = [];
  for (const m of defaultMounts()) {
    if (userDestinations.has(m.destination)) continue;
    if (userDev && m.destination.startsWith("/dev/")) continue;
    if (m.destination === "/dev/shm") m.options = [...(m.options ?? []), `size=${shmSize}`];
    mounts.push(m);
  }
  if (options.init) {
    if (input.initBinary === undefined) {
      throw new ContainrError("INTERNAL", "--init: no init binary was provided to the spec builder");
    }
    mounts.push({ destination: initPath, type: "bind", source: input.initBinary, options: ["bind", "ro"] });
  }
  if (options.readOnly) {
    for (const m of mounts) {
      if (WRITABLE_WITH_READONLY_ROOT.has(m.destination) || m.options?.includes("ro")) continue;
      m.options = [...(m.options ?? []), "ro"];
    }
  }
  if (options.privileged) {
    // --privileged: /sys and the cgroup tree are writable.
    for (const m of mounts) {
      if (m.destination === "/sys" || m.type === "cgroup") m.options = (m.options ?? []).filter((o) => o !== "ro");
    }
  }
  return [...mounts, ...userMounts];
}

function buildResources(options: RunOptions): Resources {
  const r = options.resources;
  const resources: Resources = { devices: options.privileged ? [{ allow: true, access: "rwm" }] : defaultDeviceRules() };
  if (r.memory !== undefined) {
    resources.memory = { limit: r.memory };
    if (r.memorySwap !== undefined) resources.memory.swap = r.memorySwap;
  }
  if (r.cpuShares !== undefined || r.nanoCpus !== undefined || r.cpusetCpus !== undefined) {
    resources.cpu = {};
    if (r.cpuShares !== undefined) resources.cpu.shares = r.cpuShares;
    if (r.nanoCpus !== undefined) {
      resources.cpu.period = CPU_PERIOD;
      resources.cpu.quota = Math.trunc((r.nanoCpus * CPU_PERIOD) / 1e9);
    }
    if (r.cpusetCpus !== undefined) resources.cpu.cpus = r.cpusetCpus;
  }
  if (r.pidsLimit !== undefined) resources.pids = { limit: r.pidsLimit };
  return resources;
}

function buildRlimits(options: RunOptions): Rlimit[] {
  const value = (n: number) => (n === -1 ? RLIM_INFINITY : n);
  return options.ulimits.map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, soft: value(u.soft), hard: value(u.hard) }));
}

function buildNamespaces(options: RunOptions, host: SpecHost): Namespace[] {
  const namespaces: Namespace[] = [{ type: "mount" }];
  if (options.network !== "host") namespaces.push({ type: "network" });
  namespaces.push({ type: "uts" }, { type: "pid" }, { type: "ipc" });
  if (host.cgroupNamespace) namespaces.push({ type: "cgroup" });
  return namespaces;
}

function buildSeccomp(options: RunOptions, bounding: readonly string[], host: SpecHost): Seccomp | undefined {
  if (options.privileged || options.seccomp.kind === "unconfined") return undefined;
  const [profile, source]: [DockerSeccompProfile, string] =
    options.seccomp.kind === "profile" ? [options.seccomp.profile, options.seccomp.path] : [DOCKER_DEFAULT_SECCOMP_PROFILE, "built-in"];
  return dockerSeccompToOci(profile, { capabilities: bounding, nativeArch: host.seccompArch, kernelRelease: host.kernelRelease }, source);
}

function workingDirOf(options: RunOptions, image: ContainerDefaults | undefined): string {
  const dir = options.workingDir ?? image?.WorkingDir ?? "";
  return dir === "" ? "/" : posix.normalize(posix.join("/", dir));
}

/** The OCI spec and Docker-style config of a new container. */
export function buildSpec(input: SpecInput): BuiltSpec {
  const { options, image } = input;
  const host = input.host ?? probeSpecHost();
  const initPath = input.initPath ?? DEFAULT_INIT_PATH;

  const { entrypoint, cmd } = resolveCommand(options, image);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new ContainrError("USAGE", "no command specified", {
      hint: "give a command after the image name, or use an image with an Entrypoint or Cmd",
    });
  }

  const hostname = options.hostname ?? (options.network === "host" ? host.hostname : input.id.slice(0, 12));
  const userSpec = options.user ?? image?.User ?? "";
  const user = resolveUser(input.rootfs, userSpec);
  const configEnv = mergeEnv(image?.Env ?? [], options.env);
  const stopSignal = options.stopSignal ?? (image?.StopSignal ? canonicalSignal(image.StopSignal) : DEFAULT_STOP_SIGNAL);
  const cwd = workingDirOf(options, image);

  const caps = containerCapabilities(options, host);
  // Docker gives a non-root user only the bounding set, as execve would (oci.SetCapabilities).
  const capabilities = user.uid === 0 ? dockerCapabilitySets(caps) : { bounding: [...caps] };

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: options.tty,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      args: options.init ? [initPath, "--", ...args] : args,
      env: processEnv(configEnv, hostname, options.tty, user.home),
      cwd,
      capabilities,
      noNewPrivileges: options.noNewPrivileges,
    },
    root: { path: input.rootfs, readonly: options.readOnly },
    hostname,
    mounts: buildMounts(input, DEFAULT_SHM_SIZE, initPath),
    linux: {
      namespaces: buildNamespaces(options, host),
      cgroupsPath: input.cgroupsPath ?? `/containr/${input.id}`,
      resources: buildResources(options),
      devices: options.privileged ? host.devices() : [],
    },
  };
  const proc = spec.process as NonNullable<Spec["process"]>;
  const linux = spec.linux as NonNullable<Spec["linux"]>;
  const rlimits = buildRlimits(options);
  if (rlimits.length > 0) proc.rlimits = rlimits;
  if (!options.privileged) {
    linux.maskedPaths = [...DEFAULT_MASKED_PATHS];
    linux.readonlyPaths = [...DEFAULT_READONLY_PATHS];
  }
  if (options.network !== "host") {
    const sysctl = Object.fromEntries(Object.entries(NETWORK_SYSCTLS).filter(([name]) => host.sysctls.has(name)));
    if (Object.keys(sysctl).length > 0) linux.sysctl = sysctl;
  }
  const seccomp = buildSeccomp(options, capabilities.bounding ?? [], host);
  if (seccomp !== undefined) linux.seccomp = seccomp;

  const config: ContainerConfig = {
    Hostname: hostname,
    User: userSpec,
    Env: configEnv,
    Cmd: cmd,
    Entrypoint: entrypoint.length > 0 ? entrypoint : null,
    WorkingDir: cwd,
    Labels: { ...(image?.Labels ?? {}), ...options.labels },
    StopSignal: stopSignal,
    StopTimeout: options.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
    Tty: options.tty,
    OpenStdin: options.interactive,
    Image: options.image,
  };
  return { spec, config, user };
}
