/**
 * The options of `run` and `create`: the raw flag values the CLI parsed
 * (RunFlags) become one validated, typed RunOptions, with Docker's rules and
 * Docker's wording. The parsing follows docker/cli
 * cli/command/container/opts.go (and its flag types: go-units sizes,
 * NanoCPUs, UlimitOpt, ListOpts validators); the checks that Docker leaves to
 * the daemon (moby daemon/daemon_unix.go verifyPlatformContainerResources,
 * ValidateRestartPolicy, parseSecurityOpt) happen here too, so a bad
 * command line fails before anything is created. Every error is USAGE
 * (exit 125); where pflag would wrap a value error, the message reads as
 * pflag's: `invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number`.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { posix } from "node:path";
import { ContainrError } from "../diag/errors.ts";
import { validateName } from "./ids.ts";
import { parseNetworkOptions, type NetworkMode } from "./network-options.ts";
import type { PortBinding } from "./network-ports.ts";
import { checkMounts, type MountRequest } from "./mounts.ts";
import { loadDockerSeccompProfile, type DockerSeccompProfile } from "./seccomp-profile.ts";
import { canonicalSignal } from "../linux/signals.ts";

/**
 * Flag values as the CLI parsed them (citty-style names); absent means "not
 * given". Sizes arrive in bytes: the CLI parses them with go-units' rules
 * and pflag's wording (parseMemoryFlag in src/cli/format/units.ts), as
 * docker/cli's MemBytes flag type does, and this module checks what they mean.
 */
export interface RunFlags {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  rm?: boolean;
  name?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  /** undefined: not given; "": --entrypoint "" (clears the image's) */
  entrypoint?: string;
  hostname?: string;
  label?: string[];
  labelFile?: string[];
  readOnly?: boolean;
  tmpfs?: string[];
  init?: boolean;
  stopSignal?: string;
  stopTimeout?: string;
  restart?: string;
  network?: string;
  /** --network-alias values */
  networkAlias?: string[];
  /** -p/--publish values as given */
  publish?: string[];
  /** -P/--publish-all */
  publishAll?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  securityOpt?: string[];
  /** default true, as Docker's */
  sigProxy?: boolean;
  /** bytes (-m, --memory) */
  memory?: number;
  /** bytes, -1 for unlimited (--memory-swap) */
  memorySwap?: number;
  cpus?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  pidsLimit?: string;
  ulimit?: string[];
  /** -v and --mount, in order, as the CLI parsed them (src/cli/container/mounts.ts) */
  mounts?: MountRequest[];
}

export type RestartPolicyName = "no" | "on-failure" | "always" | "unless-stopped";

export interface RestartPolicy {
  name: RestartPolicyName;
  /** on-failure:N; 0 means no limit */
  maximumRetryCount: number;
}

export interface TmpfsMount {
  destination: string;
  /** mount options, Docker's defaults (noexec, nosuid, nodev, rprivate) merged with the user's */
  options: string[];
}

export interface Ulimit {
  /** Docker's name: nofile, nproc, core, ... */
  name: string;
  /** -1 is unlimited */
  soft: number;
  hard: number;
}

export type SeccompChoice =
  | { kind: "default" }
  | { kind: "unconfined" }
  /** a Docker-format profile file, read and parsed when the command line was */
  | { kind: "profile"; path: string; profile: DockerSeccompProfile };

export interface ResourceOptions {
  /** bytes; absent: no limit */
  memory?: number;
  /** memory+swap in bytes, -1 unlimited; twice the memory when only --memory is given (Docker's default) */
  memorySwap?: number;
  /** CPUs × 1e9 (Docker's NanoCPUs) */
  nanoCpus?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  /** -1 for unlimited (--pids-limit 0 or -1) */
  pidsLimit?: number;
}

export interface RunOptions {
  image: string;
  /** words after the image: they replace the image's Cmd */
  command: string[];
  detach: boolean;
  interactive: boolean;
  tty: boolean;
  autoRemove: boolean;
  name?: string;
  /** -e and --env-file entries in order (files first, as Docker); "NAME" alone unsets NAME */
  env: string[];
  /** absolute and clean; absent: the image's WorkingDir, or "/" */
  workingDir?: string;
  /** absent: the image's User */
  user?: string;
  /** absent: the image's Entrypoint; [] for --entrypoint "" */
  entrypoint?: string[];
  hostname?: string;
  labels: Record<string, string>;
  readOnly: boolean;
  tmpfs: TmpfsMount[];
  /** volumes, bind mounts and --mount tmpfs, checked (absolute, unique targets; valid volume names) */
  mounts: MountRequest[];
  /** inject containr's init as pid 1 (it reaps and forwards signals) */
  init: boolean;
  /** canonical name ("SIGTERM"); absent: the image's StopSignal, or SIGTERM */
  stopSignal?: string;
  /** seconds; absent: 10 */
  stopTimeout?: number;
  restart: RestartPolicy;
  network: NetworkMode;
  /** --network-alias: more names peers resolve (user-defined networks only) */
  networkAliases: string[];
  /** -p, a binding per container port (bridge only) */
  publish: PortBinding[];
  /** -P: publish the image's exposed ports on random host ports (bridge only) */
  publishAll: boolean;
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  noNewPrivileges: boolean;
  seccomp: SeccompChoice;
  sigProxy: boolean;
  resources: ResourceOptions;
  ulimits: Ulimit[];
  /** notes for the user, printed as Docker prints its "WARNING:" lines */
  warnings: string[];
}

/** What validation needs to know about the host (moby's sysinfo); tests pass their own. */
export interface HostLimits {
  /** online CPU ids */
  cpus: number[];
  /** the memory cgroup can limit swap (memory.memsw.* on v1) */
  swapLimit: boolean;
}

/** Docker's smallest memory limit (linuxMinMemory). */
export const MIN_MEMORY = 6 * 1024 * 1024;
/** Docker's CPU-shares clamp (linuxMinCPUShares, linuxMaxCPUShares). */
export const MIN_CPU_SHARES = 2;
export const MAX_CPU_SHARES = 262144;

function usage(message: string, hint?: string): ContainrError {
  return new ContainrError("USAGE", message, hint === undefined ? {} : { hint });
}

/** pflag's wording for a value its flag type rejected. */
function badValue(flag: string, value: string, reason: string, hint?: string): ContainrError {
  return usage(`invalid argument "${value}" for "${flag}" flag: ${reason}`, hint);
}

/** strconv.ParseInt's rules and wording (decimal, optional sign). */
function intFlag(flag: string, value: string): number {
  if (!/^[+-]?[0-9]+$/.test(value)) throw badValue(flag, value, `strconv.ParseInt: parsing "${value}": invalid syntax`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw badValue(flag, value, `strconv.ParseInt: parsing "${value}": value out of range`);
  return n;
}

/**
 * --cpus: a decimal ("1.5") or a fraction ("3/2"), exact to 1e-9 (Docker's
 * NanoCPUs via big.Rat). Returns CPUs × 1e9.
 */
export function parseNanoCpus(value: string): number {
  const frac = /^([+-]?\d+)\/(\d+)$/.exec(value);
  if (frac?.[1] !== undefined && frac[2] !== undefined) {
    const den = BigInt(frac[2]);
    if (den === 0n) throw new Error(`failed to parse ${value} as a rational number`);
    const num = BigInt(frac[1]) * 1_000_000_000n;
    if (num % den !== 0n) throw new Error("value is too precise");
    return Number(num / den);
  }
  const dec = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(value);
  if (dec === null || (dec[2] === "" && (dec[3] ?? "") === "")) throw new Error(`failed to parse ${value} as a rational number`);
  const fraction = (dec[3] ?? "").replace(/0+$/, "");
  if (fraction.length > 9) throw new Error("value is too precise");
  const nano = BigInt(dec[2] || "0") * 1_000_000_000n + BigInt((fraction || "0").padEnd(9, "0"));
  return Number(dec[1] === "-" ? -nano : nano);
}

/** "0-3,5" → [0,1,2,3,5]; undefined when the list is malformed. */
export function parseCpuList(list: string): number[] | undefined {
  const out = new Set<number>();
  for (const part of list.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m?.[1] === undefined) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return undefined;
    for (let i = from; i <= to; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/** The online CPUs and the swap accounting of this host. */
export function probeHostLimits(
  onlinePath = "/sys/devices/system/cpu/online",
  memswPath = "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
  unifiedRoot = "/sys/fs/cgroup",
): HostLimits {
  let cpus: number[] | undefined;
  try {
    cpus = parseCpuList(readFileSync(onlinePath, "utf8").trim());
  } catch {
    // No sysfs: fall back on the scheduler's view below.
  }
  cpus ??= Array.from({ length: availableParallelism() }, (_, i) => i);
  let swapLimit = false;
  try {
    readFileSync(memswPath);
    swapLimit = true;
  } catch {
    // cgroup v2 only: swap limits come with the memory controller.
    try {
      swapLimit = readFileSync(`${unifiedRoot}/cgroup.controllers`, "utf8").split(/\s+/).includes("memory");
    } catch {
      swapLimit = false;
    }
  }
  return { cpus, swapLimit };
}

/** Docker's ulimit names (go-units ulimitNameMapping; "as" is disabled there too). */
export const ULIMIT_NAMES = [
  "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio",
  "rttime", "sigpending", "stack",
] as const;

/** --ulimit name=soft[:hard] (go-units ParseUlimit). */
export function parseUlimit(value: string): Ulimit {
  const eq = value.indexOf("=");
  if (eq < 0) throw new Error(`invalid ulimit argument: ${value}`);
  const name = value.slice(0, eq);
  if (!(ULIMIT_NAMES as readonly string[]).includes(name)) throw new Error(`invalid ulimit type: ${name}`);
  const parts = value.slice(eq + 1).split(":");
  if (parts.length > 2) {
    throw new Error(`too many limit value arguments - ${value.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  }
  const num = (text: string) => {
    if (!/^[+-]?[0-9]+$/.test(text)) throw new Error(`strconv.ParseInt: parsing "${text}": invalid syntax`);
    return Number(text);
  };
  const soft = num(parts[0] as string);
  const hard = parts[1] === undefined ? soft : num(parts[1]);
  if (soft < -1 || hard < -1) throw new Error(`invalid ulimit value: ${value.slice(eq + 1)}: use -1 for unlimited`);
  // -1 (unlimited) is above every number.
  if (hard !== -1 && (soft === -1 || soft > hard)) {
    throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  }
  return { name, soft, hard };
}

/** --restart no|always|unless-stopped|on-failure[:N] (opts.ParseRestartPolicy + daemon's ValidateRestartPolicy). */
export function parseRestartPolicy(value: string): RestartPolicy {
  const colon = value.indexOf(":");
  const name = colon < 0 ? value : value.slice(0, colon);
  const count = colon < 0 ? "" : value.slice(colon + 1);
  if (colon >= 0 && name === "") throw usage("invalid restart policy format: no policy provided before colon");
  let maximumRetryCount = 0;
  if (count !== "") {
    if (!/^[+-]?[0-9]+$/.test(count)) throw usage("invalid restart policy format: maximum retry count must be an integer");
    maximumRetryCount = Number(count);
  }
  switch (name) {
    case "":
    case "no":
    case "always":
    case "unless-stopped":
      if (maximumRetryCount !== 0) {
        throw usage("invalid restart policy: maximum retry count can only be used with 'on-failure'");
      }
      return { name: name === "" ? "no" : name, maximumRetryCount: 0 };
    case "on-failure":
      if (maximumRetryCount < 0) throw usage("invalid restart policy: maximum retry count cannot be negative");
      return { name, maximumRetryCount };
    default:
      throw usage(
        `invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`,
      );
  }
}

/** Go's strconv.ParseBool. */
function parseGoBool(text: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}

const SECURITY_OPT_HINT =
  "supported: --security-opt no-new-privileges[:true|false], seccomp=PROFILE.json, seccomp=unconfined";

/** --security-opt values (the CLI's parseSecurityOpts and the daemon's parseSecurityOpt). */
export function parseSecurityOpts(values: readonly string[]): { noNewPrivileges: boolean; seccomp: SeccompChoice } {
  let noNewPrivileges = false;
  let seccomp: SeccompChoice = { kind: "default" };
  for (const opt of values) {
    if (opt === "no-new-privileges") {
      noNewPrivileges = true;
      continue;
    }
    // "=" is the separator; ":" is Docker's deprecated one, still accepted.
    const sep = opt.includes("=") ? "=" : opt.includes(":") ? ":" : undefined;
    if (sep === undefined) throw usage(`invalid --security-opt: "${opt}"`, SECURITY_OPT_HINT);
    const key = opt.slice(0, opt.indexOf(sep));
    const value = opt.slice(opt.indexOf(sep) + 1);
    if (key === "no-new-privileges") {
      const flag = parseGoBool(value);
      if (flag === undefined) throw usage(`invalid --security-opt: "${opt}"`, "no-new-privileges takes true or false");
      noNewPrivileges = flag;
    } else if (key === "seccomp") {
      seccomp = value === "unconfined" ? { kind: "unconfined" } : { kind: "profile", path: value, profile: loadDockerSeccompProfile(value) };
    } else if (key === "label" || key === "apparmor") {
      throw usage(`invalid --security-opt: "${opt}": ${key === "label" ? "SELinux" : "AppArmor"} is not supported by containr`, SECURITY_OPT_HINT);
    } else {
      throw usage(`invalid --security-opt: "${opt}"`, SECURITY_OPT_HINT);
    }
  }
  return { noNewPrivileges, seccomp };
}

function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EISDIR: "is a directory",
  };
  return (e.code && reasons[e.code]) ?? e.message;
}

const WHITESPACE = /[ \t\n\v\f\r]/;

/**
 * An env or label file (opts.parseKeyValueFile): "#" comments and blank
 * lines skipped, leading whitespace trimmed, "NAME=value" kept verbatim;
 * a bare "NAME" takes the value from `lookup` when it has one (env files),
 * and stays bare otherwise.
 */
export function parseKeyValueFile(path: string, lookup?: (name: string) => string | undefined): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw usage(`open ${path}: ${describeFsError(err)}`);
  }
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    const name = eq < 0 ? line : line.slice(0, eq);
    if (WHITESPACE.test(name)) throw usage(`poorly formatted environment: variable '${name}' contains whitespaces`);
    if (name === "") throw usage(`poorly formatted environment: no variable name on line '${line}'`);
    if (eq >= 0) {
      out.push(line);
      continue;
    }
    const value = lookup?.(name);
    out.push(value === undefined ? name : `${name}=${value}`);
  }
  return out;
}

/** -e NAME=value, or -e NAME to pass the caller's NAME through (opts.ValidateEnv). */
function envFlag(value: string, lookup: (name: string) => string | undefined): string {
  const eq = value.indexOf("=");
  const name = eq < 0 ? value : value.slice(0, eq);
  if (name === "") throw badValue("-e, --env", value, `invalid environment variable: ${value}`);
  if (eq >= 0) return value;
  const passed = lookup(name);
  return passed === undefined ? value : `${name}=${passed}`;
}

/** -l/--label and --label-file entries → a map; "key" alone is an empty value. */
function labelsFrom(files: readonly string[], flags: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  const add = (entry: string, fromFlag: boolean) => {
    const eq = entry.indexOf("=");
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key === "") {
      const reason = `invalid label '${entry}': empty name`;
      throw fromFlag ? badValue("-l, --label", entry, reason) : usage(reason);
    }
    labels[key] = eq < 0 ? "" : entry.slice(eq + 1);
  };
  for (const file of files) for (const entry of parseKeyValueFile(file)) add(entry, false);
  for (const entry of flags) add(entry, true);
  return labels;
}

/** Mount flags a tmpfs may take, keyed by what they toggle (a later one wins over an earlier one). */
const TMPFS_FLAG_KEYS: Record<string, string> = {
  ro: "rdonly", rw: "rdonly", suid: "nosuid", nosuid: "nosuid", dev: "nodev", nodev: "nodev",
  exec: "noexec", noexec: "noexec", sync: "sync", async: "sync", dirsync: "dirsync",
  atime: "noatime", noatime: "noatime", diratime: "nodiratime", nodiratime: "nodiratime",
  relatime: "relatime", norelatime: "relatime", strictatime: "strictatime", nostrictatime: "strictatime",
  private: "propagation", rprivate: "propagation", shared: "propagation", rshared: "propagation",
  slave: "propagation", rslave: "propagation", unbindable: "propagation", runbindable: "propagation",
};
/** tmpfs's own data options. */
const TMPFS_DATA = new Set(["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"]);
/** Docker's options for every --tmpfs, before the user's. */
const TMPFS_DEFAULTS = ["noexec", "nosuid", "nodev", "rprivate"];

/**
 * Merge tmpfs options as moby's mount.MergeTmpfsOptions does: the last of
 * two contrary flags (noexec, exec) and the last value of a data option
 * (size=) win; order is otherwise kept.
 */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const option = options[i] as string;
    if (option === "defaults" || option === "") continue;
    const flagKey = TMPFS_FLAG_KEYS[option];
    const key = flagKey !== undefined ? `flag:${flagKey}` : `data:${option.split("=", 1)[0]}`;
    if (flagKey === undefined && (!option.includes("=") || !TMPFS_DATA.has(option.split("=", 1)[0] as string))) {
      throw usage(`invalid tmpfs option "${option}"`, "tmpfs takes mount flags (ro, noexec, ...) and size=, mode=, uid=, gid=, nr_inodes=");
    }
    if (seen.has(key)) continue;
    seen.add(key);
    out.unshift(option);
  }
  return out;
}

/** --tmpfs /path[:options]; the same path twice keeps the last (Docker keeps them in a map). */
export function parseTmpfs(values: readonly string[]): TmpfsMount[] {
  const byDest = new Map<string, TmpfsMount>();
  for (const value of values) {
    const colon = value.indexOf(":");
    const dest = colon < 0 ? value : value.slice(0, colon);
    const data = colon < 0 ? "" : value.slice(colon + 1);
    if (!dest.startsWith("/")) throw usage(`invalid mount path: '${dest}' mount path must be absolute`);
    const destination = cleanPath(dest);
    if (destination === "/") throw usage("invalid specification: destination can't be '/'");
    byDest.delete(destination);
    byDest.set(destination, { destination, options: mergeTmpfsOptions([...TMPFS_DEFAULTS, ...data.split(",")]) });
  }
  return [...byDest.values()];
}

/** An absolute path cleaned as Go's path.Clean does (no "..", no doubled or trailing slash). */
function cleanPath(p: string): string {
  const normal = posix.normalize(p);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}

/** Linux's HOST_NAME_MAX: sethostname(2) refuses longer names. */
const HOST_NAME_MAX = 64;

function parseCpus(value: string, host: HostLimits): number {
  let nano: number;
  try {
    nano = parseNanoCpus(value);
  } catch (err) {
    throw badValue("--cpus", value, (err as Error).message, "give a number of CPUs such as 1.5");
  }
  const n = host.cpus.length;
  // 0 means "no limit"; below 0.01 CPU the CFS quota would be under runc's 1 ms minimum.
  if (nano !== 0 && (nano < 10_000_000 || nano > n * 1e9)) {
    throw usage(`Range of CPUs is from 0.01 to ${n}.00, as there are only ${n} CPUs available`);
  }
  return nano;
}

function parseCpuset(value: string, host: HostLimits): string {
  const wanted = parseCpuList(value);
  if (wanted === undefined) throw usage(`Invalid value ${value} for cpuset cpus`, "write CPUs as a list such as 0-3,5");
  const missing = wanted.filter((c) => !host.cpus.includes(c));
  if (missing.length > 0) {
    throw usage(`Requested CPUs are not available - requested ${value}, available: ${formatCpuList(host.cpus)}`);
  }
  return value;
}

function formatCpuList(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === (cpus[j] as number) + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

function parseResources(flags: RunFlags, host: HostLimits, warnings: string[]): ResourceOptions {
  const r: ResourceOptions = {};
  const memory = flags.memory ?? 0;
  const swap = flags.memorySwap ?? 0;
  if (memory < 0) throw usage(`invalid --memory: ${memory} is negative`);
  if (swap < -1) throw usage(`invalid --memory-swap: ${swap} is negative (use -1 for unlimited)`);
  if (memory > 0 && memory < MIN_MEMORY) throw usage("Minimum memory limit allowed is 6MB");
  if (memory === 0 && swap > 0) {
    throw usage("You should always set the Memory limit when using Memoryswap limit, see usage");
  }
  if (memory > 0 && swap > 0 && swap < memory) {
    throw usage("Minimum memoryswap limit should be larger than memory limit, see usage");
  }
  if (memory > 0) {
    r.memory = memory;
    if (!host.swapLimit) {
      if (swap !== 0) warnings.push("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.");
    } else {
      r.memorySwap = swap === 0 ? memory * 2 : swap;
    }
  }
  if (flags.cpus !== undefined && flags.cpus !== "") {
    const nano = parseCpus(flags.cpus, host);
    if (nano > 0) r.nanoCpus = nano;
  }
  if (flags.cpuShares !== undefined && flags.cpuShares !== "") {
    let shares = intFlag("-c, --cpu-shares", flags.cpuShares);
    if (shares !== 0) {
      const clamped = Math.min(Math.max(shares, MIN_CPU_SHARES), MAX_CPU_SHARES);
      if (clamped !== shares) {
        warnings.push(`Changing requested CPUShares of ${shares} to ${clamped === MIN_CPU_SHARES ? "minimum" : "maximum"} allowed of ${clamped}`);
        shares = clamped;
      }
      r.cpuShares = shares;
    }
  }
  if (flags.cpusetCpus !== undefined && flags.cpusetCpus !== "") r.cpusetCpus = parseCpuset(flags.cpusetCpus, host);
  if (flags.pidsLimit !== undefined && flags.pidsLimit !== "") {
    const limit = intFlag("--pids-limit", flags.pidsLimit);
    // Docker: 0 and negative values all mean "no limit", written as -1.
    r.pidsLimit = limit <= 0 ? -1 : limit;
  }
  return r;
}

function parseUlimits(values: readonly string[]): Ulimit[] {
  const byName = new Map<string, Ulimit>();
  for (const value of values) {
    let ulimit: Ulimit;
    try {
      ulimit = parseUlimit(value);
    } catch (err) {
      throw badValue("--ulimit", value, (err as Error).message, `write name=soft[:hard], with a name among ${ULIMIT_NAMES.join(", ")}`);
    }
    byName.set(ulimit.name, ulimit);
  }
  return [...byName.values()];
}

export interface ParseRunOptionsInput {
  image: string;
  command?: string[];
  flags: RunFlags;
  /** the caller's environment, for -e NAME and bare names in --env-file */
  environment?: Record<string, string | undefined>;
  /** defaults to this host's */
  host?: HostLimits;
}

/** Turn a `run`/`create` command line into validated RunOptions, or throw a USAGE error. */
export function parseRunOptions(input: ParseRunOptionsInput): RunOptions {
  const { flags } = input;
  const environment = input.environment ?? process.env;
  const lookup = (name: string) => environment[name];
  const warnings: string[] = [];
  const host = input.host ?? probeHostLimits();

  const env = [
    ...(flags.envFile ?? []).flatMap((file) => parseKeyValueFile(file, lookup)),
    ...(flags.env ?? []).map((value) => envFlag(value, lookup)),
  ];

  let workingDir: string | undefined;
  if (flags.workdir !== undefined && flags.workdir !== "") {
    if (!flags.workdir.startsWith("/")) {
      throw usage(`the working directory '${flags.workdir}' is invalid, it needs to be an absolute path`);
    }
    workingDir = cleanPath(flags.workdir);
  }

  if (flags.hostname !== undefined && flags.hostname.length > HOST_NAME_MAX) {
    throw usage(`invalid hostname "${flags.hostname}": longer than ${HOST_NAME_MAX} characters`);
  }

  const { network, networkAliases, ...ports } = parseNetworkOptions(flags.network, flags.publish ?? [], flags.publishAll ?? false, warnings, flags.networkAlias ?? []);

  const restart = parseRestartPolicy(flags.restart ?? "no");
  const autoRemove = flags.rm ?? false;
  if (autoRemove && restart.name !== "no") throw usage("conflicting options: cannot specify both --restart and --rm");

  let stopTimeout: number | undefined;
  if (flags.stopTimeout !== undefined && flags.stopTimeout !== "") stopTimeout = intFlag("--stop-timeout", flags.stopTimeout);

  const security = parseSecurityOpts(flags.securityOpt ?? []);

  const options: RunOptions = {
    image: input.image,
    command: input.command ?? [],
    detach: flags.detach ?? false,
    interactive: flags.interactive ?? false,
    tty: flags.tty ?? false,
    autoRemove,
    env,
    labels: labelsFrom(flags.labelFile ?? [], flags.label ?? []),
    readOnly: flags.readOnly ?? false,
    tmpfs: parseTmpfs(flags.tmpfs ?? []),
    mounts: checkMounts(flags.mounts ?? []),
    init: flags.init ?? false,
    restart,
    network,
    networkAliases,
    publish: ports.publish,
    publishAll: ports.publishAll,
    privileged: flags.privileged ?? false,
    capAdd: flags.capAdd ?? [],
    capDrop: flags.capDrop ?? [],
    noNewPrivileges: security.noNewPrivileges,
    seccomp: security.seccomp,
    sigProxy: flags.sigProxy ?? true,
    resources: parseResources(flags, host, warnings),
    ulimits: parseUlimits(flags.ulimit ?? []),
    warnings,
  };
  if (flags.name !== undefined && flags.name !== "") options.name = validateName(flags.name);
  if (workingDir !== undefined) options.workingDir = workingDir;
  if (flags.user !== undefined && flags.user !== "") options.user = flags.user;
  if (flags.entrypoint !== undefined) options.entrypoint = flags.entrypoint === "" ? [] : [flags.entrypoint];
  if (flags.hostname) options.hostname = flags.hostname;
  if (flags.stopSignal !== undefined && flags.stopSignal !== "") options.stopSignal = canonicalSignal(flags.stopSignal);
  if (stopTimeout !== undefined) options.stopTimeout = stopTimeout;
  return options;
}

/** Whether a foreground run forwards the signals it receives to the container (Docker: attached and no TTY). */
export function proxiesSignals(options: RunOptions): boolean {
  return options.sigProxy && !options.detach && !options.tty;
}
