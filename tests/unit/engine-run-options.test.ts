import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainrError } from "../../src/diag/errors.ts";
import {
  mergeTmpfsOptions,
  parseNanoCpus,
  parseRunOptions,
  proxiesSignals,
  type HostLimits,
  type RunFlags,
  type RunOptions,
} from "../../src/engine/run-options.ts";

const HOST: HostLimits = { cpus: [0, 1], swapLimit: true };
const dir = mkdtempSync(join(tmpdir(), "containr-runopts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function parse(flags: RunFlags, extra: { command?: string[]; environment?: Record<string, string>; host?: HostLimits } = {}): RunOptions {
  return parseRunOptions({ image: "busybox", flags, command: extra.command, environment: extra.environment ?? {}, host: extra.host ?? HOST });
}

function usageError(flags: RunFlags, host?: HostLimits): ContainrError {
  try {
    parse(flags, { host });
  } catch (err) {
    expect(err).toBeInstanceOf(ContainrError);
    const e = err as ContainrError;
    expect(e.exit).toBe(125);
    return e;
  }
  throw new Error("expected an error");
}

describe("defaults", () => {
  test("no flags: Docker's defaults, the bridge network, nothing published", () => {
    const o = parse({}, { command: ["echo", "hi"] });
    expect(o.command).toEqual(["echo", "hi"]);
    expect(o.network).toBe("bridge");
    expect(o.publish).toEqual([]);
    expect(o.publishAll).toBe(false);
    expect(o.restart).toEqual({ name: "no", maximumRetryCount: 0 });
    expect(o.seccomp).toEqual({ kind: "default" });
    expect(o.noNewPrivileges).toBe(false);
    expect(o.sigProxy).toBe(true);
    expect(o.resources).toEqual({});
    expect(o.entrypoint).toBeUndefined();
    expect(o.warnings).toEqual([]);
  });
});

describe("memory", () => {
  const MiB = 1024 ** 2;

  test("--memory alone sets swap to twice the memory, as Docker", () => {
    expect(parse({ memory: 64 * MiB }).resources).toEqual({ memory: 64 * MiB, memorySwap: 128 * MiB });
  });

  test("--memory-swap -1 is unlimited; a larger value is kept", () => {
    expect(parse({ memory: 64 * MiB, memorySwap: -1 }).resources.memorySwap).toBe(-1);
    expect(parse({ memory: 64 * MiB, memorySwap: 1024 * MiB }).resources.memorySwap).toBe(1024 * MiB);
  });

  test("without swap accounting the swap limit is dropped with Docker's warning", () => {
    const o = parse({ memory: 64 * MiB, memorySwap: 1024 * MiB }, { host: { cpus: [0], swapLimit: false } });
    expect(o.resources).toEqual({ memory: 64 * MiB });
    expect(o.warnings[0]).toContain("does not support swap limit");
  });

  test("values Docker refuses are usage errors worded as Docker's", () => {
    const small = usageError({ memory: 4 * MiB });
    expect(small.message).toBe("Minimum memory limit allowed is 6MB");
    expect(small.code).toBe("USAGE");
    expect(usageError({ memory: 64 * MiB, memorySwap: 32 * MiB }).message).toBe(
      "Minimum memoryswap limit should be larger than memory limit, see usage",
    );
    expect(usageError({ memorySwap: 1024 * MiB }).message).toBe(
      "You should always set the Memory limit when using Memoryswap limit, see usage",
    );
  });
});

describe("cpu and pids", () => {
  test("--cpus is exact nano-CPUs", () => {
    expect(parseNanoCpus("1.5")).toBe(1_500_000_000);
    expect(parseNanoCpus("3/2")).toBe(1_500_000_000);
    expect(parseNanoCpus(".25")).toBe(250_000_000);
    expect(parse({ cpus: "1.5" }).resources.nanoCpus).toBe(1_500_000_000);
    expect(parse({ cpus: "0" }).resources.nanoCpus).toBeUndefined();
  });

  test("--cpus errors", () => {
    expect(usageError({ cpus: "abc" }).message).toBe(`invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number`);
    expect(usageError({ cpus: "0.0000000001" }).message).toBe(`invalid argument "0.0000000001" for "--cpus" flag: value is too precise`);
    expect(usageError({ cpus: "3" }).message).toBe("Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
    expect(usageError({ cpus: "0.001" }).message).toBe("Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
  });

  test("--cpu-shares is kept within Docker's 2..262144 with a warning", () => {
    expect(parse({ cpuShares: "512" }).resources.cpuShares).toBe(512);
    const low = parse({ cpuShares: "1" });
    expect(low.resources.cpuShares).toBe(2);
    expect(low.warnings).toEqual(["Changing requested CPUShares of 1 to minimum allowed of 2"]);
    expect(parse({ cpuShares: "300000" }).resources.cpuShares).toBe(262144);
    expect(usageError({ cpuShares: "lots" }).message).toBe(
      `invalid argument "lots" for "-c, --cpu-shares" flag: strconv.ParseInt: parsing "lots": invalid syntax`,
    );
  });

  test("--cpuset-cpus must name online CPUs", () => {
    expect(parse({ cpusetCpus: "0-1" }).resources.cpusetCpus).toBe("0-1");
    expect(usageError({ cpusetCpus: "0-3" }).message).toBe("Requested CPUs are not available - requested 0-3, available: 0-1");
    expect(usageError({ cpusetCpus: "a" }).message).toBe("Invalid value a for cpuset cpus");
  });

  test("--pids-limit: 0 and negatives mean unlimited (-1)", () => {
    expect(parse({ pidsLimit: "64" }).resources.pidsLimit).toBe(64);
    expect(parse({ pidsLimit: "0" }).resources.pidsLimit).toBe(-1);
    expect(parse({ pidsLimit: "-1" }).resources.pidsLimit).toBe(-1);
    expect(usageError({ pidsLimit: "many" }).message).toContain(`invalid argument "many" for "--pids-limit" flag`);
  });
});

describe("ulimits", () => {
  test("name=soft[:hard], the last of a name wins", () => {
    expect(parse({ ulimit: ["nofile=1024:2048", "core=0", "nproc=-1", "nofile=512:1024"] }).ulimits).toEqual([
      { name: "nofile", soft: 512, hard: 1024 },
      { name: "core", soft: 0, hard: 0 },
      { name: "nproc", soft: -1, hard: -1 },
    ]);
  });

  test("errors worded as go-units'", () => {
    expect(usageError({ ulimit: ["nofile"] }).message).toBe(`invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile`);
    expect(usageError({ ulimit: ["as=1"] }).message).toBe(`invalid argument "as=1" for "--ulimit" flag: invalid ulimit type: as`);
    expect(usageError({ ulimit: ["nofile=2:1"] }).message).toContain("ulimit soft limit must be less than or equal to hard limit: 2 > 1");
    expect(usageError({ ulimit: ["nofile=1:2:3"] }).message).toContain("too many limit value arguments - 1:2:3");
    expect(usageError({ ulimit: ["nofile=x"] }).message).toContain(`strconv.ParseInt: parsing "x": invalid syntax`);
    expect(usageError({ ulimit: ["nofile=-1:100"] }).message).toContain("soft limit must be less than or equal to hard limit");
  });
});

describe("environment and labels", () => {
  test("--env-file entries come first, then -e; bare names pass the caller's value through", () => {
    const file = join(dir, "env.list");
    writeFileSync(file, "\uFEFF# comment\n\nA=1\n  B=two words\nFROM_CALLER\nUNSET_ONE\n");
    const o = parse({ envFile: [file], env: ["C=3", "FROM_CALLER", "ALSO_UNSET"] }, { environment: { FROM_CALLER: "yes" } });
    expect(o.env).toEqual(["A=1", "B=two words", "FROM_CALLER=yes", "UNSET_ONE", "C=3", "FROM_CALLER=yes", "ALSO_UNSET"]);
  });

  test("bad env entries", () => {
    expect(usageError({ env: ["=x"] }).message).toBe(`invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x`);
    const file = join(dir, "bad.list");
    writeFileSync(file, "MY VAR=1\n");
    expect(usageError({ envFile: [file] }).message).toBe("poorly formatted environment: variable 'MY VAR' contains whitespaces");
    expect(usageError({ envFile: [join(dir, "missing.list")] }).message).toBe(`open ${join(dir, "missing.list")}: no such file or directory`);
  });

  test("labels from files then flags; a bare key is an empty value", () => {
    const file = join(dir, "labels");
    writeFileSync(file, "a=from-file\nb=2\n");
    expect(parse({ labelFile: [file], label: ["a=from-flag", "flag"] }).labels).toEqual({ a: "from-flag", b: "2", flag: "" });
    expect(usageError({ label: ["=v"] }).message).toBe(`invalid argument "=v" for "-l, --label" flag: invalid label '=v': empty name`);
  });
});

describe("command-line shape", () => {
  test("--entrypoint: a value replaces, an empty one clears", () => {
    expect(parse({ entrypoint: "/bin/sh" }).entrypoint).toEqual(["/bin/sh"]);
    expect(parse({ entrypoint: "" }).entrypoint).toEqual([]);
  });

  test("--name is checked as Docker checks it; --hostname fits sethostname(2)", () => {
    expect(parse({ name: "/web-1" }).name).toBe("web-1");
    expect(usageError({ name: "bad name" }).message).toBe("Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    expect(parse({ hostname: "db.local" }).hostname).toBe("db.local");
    expect(usageError({ hostname: "h".repeat(65) }).message).toContain("longer than 64 characters");
  });

  test("-w must be absolute and is cleaned", () => {
    expect(parse({ workdir: "/srv//app/../data/" }).workingDir).toBe("/srv/data");
    expect(usageError({ workdir: "rel" }).message).toBe("the working directory 'rel' is invalid, it needs to be an absolute path");
  });

  test("--stop-signal is canonical; a bad one is Docker's error", () => {
    expect(parse({ stopSignal: "usr1" }).stopSignal).toBe("SIGUSR1");
    expect(parse({ stopSignal: "9" }).stopSignal).toBe("SIGKILL");
    expect(usageError({ stopSignal: "NOPE" }).message).toBe("invalid signal: NOPE");
    expect(parse({ stopTimeout: "30" }).stopTimeout).toBe(30);
    expect(usageError({ stopTimeout: "soon" }).message).toContain(`invalid argument "soon" for "--stop-timeout" flag`);
  });

  test("--restart policies and their errors", () => {
    expect(parse({ restart: "on-failure:3" }).restart).toEqual({ name: "on-failure", maximumRetryCount: 3 });
    expect(parse({ restart: "always" }).restart).toEqual({ name: "always", maximumRetryCount: 0 });
    expect(parse({ restart: "unless-stopped" }).restart.name).toBe("unless-stopped");
    expect(usageError({ restart: "always:3" }).message).toBe("invalid restart policy: maximum retry count can only be used with 'on-failure'");
    expect(usageError({ restart: "on-failure:x" }).message).toBe("invalid restart policy format: maximum retry count must be an integer");
    expect(usageError({ restart: "on-failure:-1" }).message).toBe("invalid restart policy: maximum retry count cannot be negative");
    expect(usageError({ restart: "sometimes" }).message).toBe(
      "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
    );
    expect(usageError({ restart: ":3" }).message).toBe("invalid restart policy format: no policy provided before colon");
    expect(usageError({ restart: "always", rm: true }).message).toBe("conflicting options: cannot specify both --restart and --rm");
  });

  test("--network bridge|default|none|host|NAME; container: is a clear error", () => {
    expect(parse({ network: "host" }).network).toBe("host");
    expect(parse({ network: "none" }).network).toBe("none");
    expect(parse({ network: "bridge" }).network).toBe("bridge");
    expect(parse({ network: "default" }).network).toBe("bridge");
    const shared = usageError({ network: "container:abc" });
    expect(shared.message).toBe(`network mode "container:abc" is not supported: containr cannot share another container's network yet`);
    expect(shared.hint).toContain("--network bridge");
    // a user-defined network's name, id or prefix: create resolves it (network-user e2e test)
    expect(parse({ network: "mynet" }).network).toBe("mynet");
  });

  test("-p/-P: bindings on the bridge; discarded with a warning on the host network; refused without a network", () => {
    const o = parse({ publish: ["127.0.0.1:8080:80", "53/udp"], publishAll: true });
    expect(o.publish).toEqual([
      { containerPort: 80, proto: "tcp", hostIp: "127.0.0.1", hostPort: "8080" },
      { containerPort: 53, proto: "udp", hostIp: "", hostPort: "" },
    ]);
    expect(o.publishAll).toBe(true);
    const host = parse({ network: "host", publish: ["8080:80"] });
    expect(host.publish).toEqual([]);
    expect(host.warnings).toEqual(["Published ports are discarded when using host network mode"]);
    expect(usageError({ network: "none", publish: ["8080:80"] }).message).toBe(
      "conflicting options: port publishing and the container type network mode",
    );
    expect(usageError({ publish: ["abc"] }).message).toBe("invalid containerPort: abc");
  });

  test("--tmpfs: Docker's default options merged with the user's", () => {
    expect(parse({ tmpfs: ["/run/", "/cache:exec,size=64m,mode=1777", "/run:ro"] }).tmpfs).toEqual([
      { destination: "/cache", options: ["nosuid", "nodev", "rprivate", "exec", "size=64m", "mode=1777"] },
      { destination: "/run", options: ["noexec", "nosuid", "nodev", "rprivate", "ro"] },
    ]);
    expect(mergeTmpfsOptions(["size=1m", "noexec", "size=2m", "exec"])).toEqual(["size=2m", "exec"]);
    expect(usageError({ tmpfs: ["run"] }).message).toBe("invalid mount path: 'run' mount path must be absolute");
    expect(usageError({ tmpfs: ["/"] }).message).toBe("invalid specification: destination can't be '/'");
    expect(usageError({ tmpfs: ["/x:bogus"] }).message).toBe(`invalid tmpfs option "bogus"`);
  });

  test("--sig-proxy applies to attached runs without a TTY", () => {
    expect(proxiesSignals(parse({}))).toBe(true);
    expect(proxiesSignals(parse({ tty: true }))).toBe(false);
    expect(proxiesSignals(parse({ detach: true }))).toBe(false);
    expect(proxiesSignals(parse({ sigProxy: false }))).toBe(false);
  });
});

describe("--security-opt", () => {
  test("no-new-privileges with and without a value", () => {
    expect(parse({ securityOpt: ["no-new-privileges"] }).noNewPrivileges).toBe(true);
    expect(parse({ securityOpt: ["no-new-privileges:true"] }).noNewPrivileges).toBe(true);
    expect(parse({ securityOpt: ["no-new-privileges=false"] }).noNewPrivileges).toBe(false);
    expect(usageError({ securityOpt: ["no-new-privileges=maybe"] }).message).toBe(`invalid --security-opt: "no-new-privileges=maybe"`);
  });

  test("seccomp=unconfined and seccomp=PROFILE.json", () => {
    expect(parse({ securityOpt: ["seccomp=unconfined"] }).seccomp).toEqual({ kind: "unconfined" });
    const file = join(dir, "profile.json");
    writeFileSync(file, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] }));
    const o = parse({ securityOpt: [`seccomp=${file}`] });
    expect(o.seccomp.kind).toBe("profile");
    expect(o.seccomp.kind === "profile" && o.seccomp.profile.defaultAction).toBe("SCMP_ACT_ALLOW");
    const missing = usageError({ securityOpt: [`seccomp=${join(dir, "nope.json")}`] });
    expect(missing.message).toContain("nope.json");
  });

  test("anything else is refused", () => {
    expect(usageError({ securityOpt: ["foo"] }).message).toBe(`invalid --security-opt: "foo"`);
    expect(usageError({ securityOpt: ["apparmor=docker-default"] }).message).toContain("AppArmor is not supported");
    expect(usageError({ securityOpt: ["label=disable"] }).message).toContain("SELinux is not supported");
    expect(usageError({ securityOpt: ["systempaths=unconfined"] }).code).toBe("USAGE");
  });
});
