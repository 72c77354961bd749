/**
 * The cgroup manager against fake /sys/fs/cgroup trees (youki style): the
 * files a kernel would show, pre-filled, in a temp dir; apply resources,
 * read the files back. Covers v1, v2 and hybrid without root.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryUsageWithoutCache } from "../../src/engine/operations.ts";
import { cgroupManagerFor, type CgroupManager } from "../../src/linux/cgroups/index.ts";
import { inheritCpuset } from "../../src/linux/cgroups/v1.ts";
import { errorOf } from "../helpers/errors.ts";

const MiB = 1024 * 1024;
const V1_UNLIMITED = "9223372036854771712";

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Create dir (with parents) holding the given files. */
function files(dir: string, content: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(content)) writeFileSync(join(dir, name), value);
}

const read = (...parts: string[]) => readFileSync(join(root, ...parts), "utf8");

const V1_FILES: Record<string, Record<string, string>> = {
  memory: {
    "memory.limit_in_bytes": V1_UNLIMITED,
    "memory.memsw.limit_in_bytes": V1_UNLIMITED,
    "memory.soft_limit_in_bytes": V1_UNLIMITED,
    "memory.swappiness": "60",
    "memory.oom_control": "oom_kill_disable 0",
    "memory.usage_in_bytes": "4096",
    "memory.max_usage_in_bytes": "8192",
    "memory.stat": "cache 2048\nrss 2048\ninactive_file 512\nactive_file 0\ntotal_cache 2048\ntotal_rss 2048\ntotal_inactive_file 1024\ntotal_active_file 0\n",
  },
  "cpu,cpuacct": {
    "cpu.shares": "1024",
    "cpu.cfs_quota_us": "-1",
    "cpu.cfs_period_us": "100000",
    "cpuacct.usage": "123456",
    "cpuacct.usage_user": "100000",
    "cpuacct.usage_sys": "23456",
  },
  cpuset: { "cpuset.cpus": "", "cpuset.mems": "" },
  pids: { "pids.max": "max", "pids.current": "1" },
  devices: { "devices.allow": "", "devices.deny": "" },
  freezer: { "freezer.state": "THAWED" },
  blkio: { "blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 512\n8:16 Read 100\nTotal 4708\n" },
};

/** A v1 (or, with unified, hybrid) host with the container's cgroup /containr/t already there. */
function v1Fixture(opts: { unified?: string; leaf?: boolean; without?: string[] } = {}): { mountinfo: string; procSelfCgroup: string } {
  root = mkdtempSync(join(tmpdir(), "containr-cg-"));
  const lines: string[] = [];
  let id = 31;
  for (const [hierarchy, content] of Object.entries(V1_FILES)) {
    if (opts.without?.includes(hierarchy)) continue;
    lines.push(`${id} 30 0:${id} / ${root}/${hierarchy} rw,relatime - cgroup cgroup rw,${hierarchy}`);
    id++;
    files(join(root, hierarchy), { "cgroup.procs": "" });
    if (opts.leaf !== false) files(join(root, hierarchy, "containr", "t"), { ...content, "cgroup.procs": "" });
  }
  if (opts.unified !== undefined) {
    lines.push(`${id} 30 0:${id} / ${root}/unified rw,relatime - cgroup2 cgroup2 rw`);
    files(join(root, "unified"), { "cgroup.controllers": opts.unified, "cgroup.subtree_control": "" });
    files(join(root, "unified", "containr"), { "cgroup.controllers": opts.unified, "cgroup.subtree_control": "" });
    files(join(root, "unified", "containr", "t"), { "cgroup.procs": "", "hugetlb.2MB.max": "max", "cgroup.events": "populated 0\nfrozen 0\n" });
  }
  return { mountinfo: `${lines.join("\n")}\n`, procSelfCgroup: "2:memory:/process_api/me\n1:cpu,cpuacct:/\n0::/\n" };
}

const V2_CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma misc";

/** A v2 host with the container's cgroup /containr/t already there. */
function v2Fixture(): { mountinfo: string; procSelfCgroup: string } {
  root = mkdtempSync(join(tmpdir(), "containr-cg-"));
  files(root, { "cgroup.controllers": V2_CONTROLLERS, "cgroup.subtree_control": "", "cgroup.procs": "" });
  files(join(root, "containr"), { "cgroup.controllers": V2_CONTROLLERS, "cgroup.subtree_control": "" });
  files(join(root, "containr", "t"), {
    "cgroup.procs": "",
    "cgroup.freeze": "0",
    "cgroup.events": "populated 1\nfrozen 0\n",
    "cgroup.kill": "",
    "memory.max": "max",
    "memory.low": "0",
    "memory.high": "max",
    "memory.swap.max": "max",
    "memory.current": "65536",
    "memory.peak": "131072",
    "memory.stat": "anon 32768\nfile 32768\nkernel 0\nactive_anon 32768\ninactive_anon 0\nactive_file 8192\ninactive_file 24576\n",
    "cpu.weight": "100",
    "cpu.max": "max 100000",
    "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n",
    "cpuset.cpus": "",
    "cpuset.mems": "",
    "pids.max": "max",
    "pids.current": "2",
    "io.stat": "8:0 rbytes=1000 wbytes=24 rios=1 wios=1\n",
    "hugetlb.2MB.max": "max",
  });
  return {
    mountinfo: `25 22 0:23 / ${root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n`,
    procSelfCgroup: "0::/user.slice\n",
  };
}

function manager(fx: { mountinfo: string; procSelfCgroup: string }, extra: { cgroupsPath?: string; rootless?: boolean } = {}): CgroupManager {
  return cgroupManagerFor({ containerId: "t", root, ...fx, ...extra });
}

describe("cgroup v1 (fixture)", () => {
  test("create writes every limit to its controller's files", () => {
    const m = manager(v1Fixture());
    expect(m.mode).toBe("v1");
    m.create({
      memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 128 * MiB, swappiness: 10, disableOOMKiller: true },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0", mems: "0" },
      pids: { limit: 20 },
    });
    expect(read("memory/containr/t/memory.limit_in_bytes")).toBe(String(64 * MiB));
    expect(read("memory/containr/t/memory.soft_limit_in_bytes")).toBe(String(32 * MiB));
    expect(read("memory/containr/t/memory.memsw.limit_in_bytes")).toBe(String(128 * MiB));
    expect(read("memory/containr/t/memory.swappiness")).toBe("10");
    expect(read("memory/containr/t/memory.oom_control")).toBe("1");
    expect(read("cpu,cpuacct/containr/t/cpu.shares")).toBe("512");
    expect(read("cpu,cpuacct/containr/t/cpu.cfs_quota_us")).toBe("50000");
    expect(read("cpu,cpuacct/containr/t/cpu.cfs_period_us")).toBe("100000");
    expect(read("cpuset/containr/t/cpuset.cpus")).toBe("0");
    expect(read("pids/containr/t/pids.max")).toBe("20");
  });

  test("the joint cpu,cpuacct mount is one directory under both names; the default path is /containr/ID", () => {
    const m = manager(v1Fixture());
    const paths = m.paths();
    expect(paths.cpu).toBe(join(root, "cpu,cpuacct/containr/t"));
    expect(paths.cpuacct).toBe(paths.cpu as string);
    expect(paths.memory).toBe(join(root, "memory/containr/t"));
    expect(m.unifiedPath()).toBeUndefined();
  });

  test("a relative cgroupsPath is under our own cgroup in each hierarchy", () => {
    const m = manager(v1Fixture(), { cgroupsPath: "sub/c1" });
    expect(m.paths().memory).toBe(join(root, "memory/process_api/me/sub/c1"));
    expect(m.paths().pids).toBe(join(root, "pids/sub/c1"));
  });

  test("saved paths() are reused as they are (a relative cgroupsPath depends on the caller's cgroup); foreign ones are refused", () => {
    const fx = v1Fixture();
    const saved = manager(fx, { cgroupsPath: "sub/c1" }).paths();
    const again = cgroupManagerFor({ containerId: "t", root, ...fx, procSelfCgroup: "2:memory:/elsewhere\n", paths: saved });
    expect(again.paths()).toEqual(saved);
    const err = errorOf(() => cgroupManagerFor({ containerId: "t", root, ...fx, paths: { ...saved, memory: "/etc/x" } }));
    expect(err.message).toContain("/etc/x");
  });

  test("unlimited memory also lifts the swap limit; pids -1 is max", () => {
    const m = manager(v1Fixture());
    m.create({ memory: { limit: -1 }, pids: { limit: -1 } });
    expect(read("memory/containr/t/memory.limit_in_bytes")).toBe("-1");
    expect(read("memory/containr/t/memory.memsw.limit_in_bytes")).toBe("-1");
    expect(read("pids/containr/t/pids.max")).toBe("max");
  });

  test("without swap accounting a swap limit is an error naming the file, unless it asks for no swap", () => {
    const fx = v1Fixture();
    rmSync(join(root, "memory/containr/t/memory.memsw.limit_in_bytes"));
    const err = errorOf(() => manager(fx).create({ memory: { limit: 64 * MiB, swap: 128 * MiB } }));
    expect(err.code).toBe("CGROUP_UNAVAILABLE");
    expect(err.message).toContain("memory.memsw.limit_in_bytes");
    manager(fx).create({ memory: { limit: 64 * MiB, swap: 64 * MiB } });
    expect(read("memory/containr/t/memory.limit_in_bytes")).toBe(String(64 * MiB));
  });

  test("a limit for a controller the host lacks names the controller", () => {
    const err = errorOf(() => manager(v1Fixture()).create({ network: { classID: 42 } }));
    expect(err.code).toBe("CGROUP_UNAVAILABLE");
    expect(err.message).toContain("net_cls");
    expect(errorOf(() => manager(v1Fixture()).create({ hugepageLimits: [{ pageSize: "2MB", limit: 0 }] })).message).toContain("hugetlb");
  });

  test("linux.resources.unified needs a v2 hierarchy", () => {
    const err = errorOf(() => manager(v1Fixture()).create({ unified: { "memory.high": "1" } }));
    expect(err.message).toContain("no cgroup v2 hierarchy");
  });

  test("invalid values are refused with the field's name before anything is written", () => {
    const fx = v1Fixture();
    expect(errorOf(() => manager(fx).create({ memory: { limit: 1.5 } })).message).toContain("linux.resources.memory.limit");
    expect(errorOf(() => manager(fx).create({ memory: { swappiness: 200 } })).message).toContain("swappiness");
    expect(errorOf(() => manager(fx).create({ memory: { limit: 64 * MiB, swap: 32 * MiB } })).message).toContain("less than the memory limit");
    expect(errorOf(() => manager(fx).create({ pids: { limit: -7 } })).code).toBe("INVALID_CONFIG");
  });

  test("a failed write names file, value and directory, and create removes what it made", () => {
    // No cpuset here: a fixture cannot make the files a new cpuset cgroup has.
    const fx = v1Fixture({ leaf: false, without: ["cpuset"] });
    const err = errorOf(() => manager(fx).create({ pids: { limit: 5 } }));
    expect(err.code).toBe("CGROUP_UNAVAILABLE");
    // The new directory has no pids.max in a fixture (the kernel would make one): ENOENT.
    expect(err.message).toBe(`write pids.max = "5" in ${join(root, "pids/containr/t")}: ENOENT: No such file or directory`);
    for (const h of Object.keys(V1_FILES)) {
      expect(existsSync(join(root, h, "containr"))).toBe(false);
    }
  });

  test("a manager with no limits creates the directories, and destroy removes them (already gone is fine)", () => {
    const fx = v1Fixture({ leaf: false, without: ["cpuset"] });
    const hierarchies = Object.keys(V1_FILES).filter((h) => h !== "cpuset");
    const m = manager(fx);
    m.create(undefined);
    for (const h of hierarchies) expect(existsSync(join(root, h, "containr/t"))).toBe(true);
    m.destroy();
    for (const h of hierarchies) expect(existsSync(join(root, h, "containr/t"))).toBe(false);
    m.destroy();
  });

  test("a new cpuset cgroup gets its parent's cpus and mems", () => {
    root = mkdtempSync(join(tmpdir(), "containr-cg-"));
    files(root, { "cpuset.cpus": "0-1", "cpuset.mems": "0" });
    files(join(root, "child"), { "cpuset.cpus": "\n", "cpuset.mems": "" });
    inheritCpuset(join(root, "child"));
    expect(read("child/cpuset.cpus")).toBe("0-1");
    expect(read("child/cpuset.mems")).toBe("0");
  });

  test("addProcess writes cgroup.procs in every hierarchy; pids reads them back", () => {
    const m = manager(v1Fixture());
    m.addProcess(4242);
    for (const h of Object.keys(V1_FILES)) expect(read(h, "containr/t/cgroup.procs")).toBe("4242");
    expect(m.pids()).toEqual([4242]);
  });

  test("freeze and thaw write freezer.state and wait for it", () => {
    const m = manager(v1Fixture());
    m.freeze();
    expect(read("freezer/containr/t/freezer.state")).toBe("FROZEN");
    m.thaw();
    expect(read("freezer/containr/t/freezer.state")).toBe("THAWED");
  });

  test("stats come from the v1 files", () => {
    const m = manager(v1Fixture());
    m.create({ memory: { limit: 64 * MiB }, pids: { limit: 9 } });
    expect(m.stats()).toEqual({
      memory: { usage: 4096, inactiveFile: 1024, limit: 64 * MiB, maxUsage: 8192 },
      cpu: { usageNanos: 123456, userNanos: 100000, systemNanos: 23456 },
      pids: { current: 1, limit: 9 },
      blockIO: { readBytes: 4196, writeBytes: 512 },
    });
  });

  test("memory without cache: total_inactive_file, or inactive_file where the kernel has no total_ keys", () => {
    const m = manager(v1Fixture());
    expect(memoryUsageWithoutCache(m.stats().memory!)).toBe(4096 - 1024);
    writeFileSync(join(root, "memory/containr/t/memory.stat"), "cache 2048\nrss 2048\ninactive_file 512\nactive_file 0\n");
    expect(m.stats().memory).toMatchObject({ usage: 4096, inactiveFile: 512 });
    expect(memoryUsageWithoutCache(m.stats().memory!)).toBe(4096 - 512);
  });

  test("update rewrites limits", () => {
    const m = manager(v1Fixture());
    m.create({ pids: { limit: 20 } });
    m.update({ pids: { limit: 30 }, cpu: { quota: 20000 } });
    expect(read("pids/containr/t/pids.max")).toBe("30");
    expect(read("cpu,cpuacct/containr/t/cpu.cfs_quota_us")).toBe("20000");
  });
});

describe("hybrid (fixture)", () => {
  test("v1 controllers as v1, hugetlb in the unified hierarchy, and a unified directory for the processes", () => {
    const m = manager(v1Fixture({ unified: "hugetlb" }));
    expect(m.mode).toBe("hybrid");
    m.create({ memory: { limit: 64 * MiB }, hugepageLimits: [{ pageSize: "2MB", limit: 4 * MiB }] });
    expect(read("memory/containr/t/memory.limit_in_bytes")).toBe(String(64 * MiB));
    expect(read("unified/containr/t/hugetlb.2MB.max")).toBe(String(4 * MiB));
    expect(read("unified/cgroup.subtree_control")).toBe("+hugetlb");
    expect(read("unified/containr/cgroup.subtree_control")).toBe("+hugetlb");
    expect(m.unifiedPath()).toBe(join(root, "unified/containr/t"));
    expect(m.paths().unified).toBe(join(root, "unified/containr/t"));
    m.addProcess(77);
    expect(read("unified/containr/t/cgroup.procs")).toBe("77");
    expect(read("memory/containr/t/cgroup.procs")).toBe("77");
  });

  test("without hugetlb limits nothing is enabled in the unified hierarchy", () => {
    const m = manager(v1Fixture({ unified: "hugetlb" }));
    m.create({ pids: { limit: 3 } });
    expect(read("unified/cgroup.subtree_control")).toBe("");
  });

  test("unified keys are allowed for the controllers the unified hierarchy has", () => {
    const m = manager(v1Fixture({ unified: "hugetlb" }));
    m.create({ unified: { "hugetlb.2MB.max": "1048576" } });
    expect(read("unified/containr/t/hugetlb.2MB.max")).toBe("1048576");
    expect(errorOf(() => m.create({ unified: { "memory.high": "1" } })).message).toContain("no memory controller");
  });
});

describe("cgroup v2 (fixture)", () => {
  test("create enables controllers from the root down and writes the converted limits", () => {
    const m = manager(v2Fixture());
    expect(m.mode).toBe("v2");
    m.create({
      memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 96 * MiB },
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0-1", mems: "0" },
      pids: { limit: 20 },
      hugepageLimits: [{ pageSize: "2MB", limit: 2 * MiB }],
    });
    for (const level of ["cgroup.subtree_control", "containr/cgroup.subtree_control"]) {
      const enabled = read(level).split(" ");
      for (const c of ["+memory", "+cpu", "+cpuset", "+pids", "+hugetlb", "+io"]) expect(enabled).toContain(c);
    }
    expect(read("containr/t/memory.max")).toBe(String(64 * MiB));
    expect(read("containr/t/memory.low")).toBe(String(32 * MiB));
    expect(read("containr/t/memory.swap.max")).toBe(String(32 * MiB));
    expect(read("containr/t/cpu.weight")).toBe("100");
    expect(read("containr/t/cpu.max")).toBe("50000 100000");
    expect(read("containr/t/cpuset.cpus")).toBe("0-1");
    expect(read("containr/t/cpuset.mems")).toBe("0");
    expect(read("containr/t/pids.max")).toBe("20");
    expect(read("containr/t/hugetlb.2MB.max")).toBe(String(2 * MiB));
    expect(m.unifiedPath()).toBe(join(root, "containr/t"));
    expect(m.paths()).toEqual({ unified: join(root, "containr/t") });
  });

  test("quota -1 is max, and a period alone keeps the quota", () => {
    const m = manager(v2Fixture());
    m.create({ cpu: { quota: -1 } });
    expect(read("containr/t/cpu.max")).toBe("max 100000");
    writeFileSync(join(root, "containr/t/cpu.max"), "20000 100000\n");
    m.update({ cpu: { period: 50000 } });
    expect(read("containr/t/cpu.max")).toBe("20000 50000");
  });

  test("unlimited memory and swap are max", () => {
    const m = manager(v2Fixture());
    m.create({ memory: { limit: -1 } });
    expect(read("containr/t/memory.max")).toBe("max");
    expect(read("containr/t/memory.swap.max")).toBe("max");
  });

  test("linux.resources.unified is written verbatim after the typed fields; keys are file names", () => {
    const m = manager(v2Fixture());
    m.create({ memory: { limit: 64 * MiB }, unified: { "memory.max": "1234", "memory.high": "999" } });
    expect(read("containr/t/memory.max")).toBe("1234");
    expect(read("containr/t/memory.high")).toBe("999");
    for (const key of ["../memory.max", "a/b.c", ".."]) {
      expect(errorOf(() => manager(v2Fixture()).create({ unified: { [key]: "1" } })).code).toBe("INVALID_CONFIG");
    }
    expect(errorOf(() => manager(v2Fixture()).create({ unified: { "memory.nosuchfile": "1" } })).message).toContain("memory.nosuchfile");
  });

  test("v1-only settings are refused on v2, naming the field", () => {
    expect(errorOf(() => manager(v2Fixture()).create({ memory: { swappiness: 10 } })).message).toContain("memory.swappiness");
    expect(errorOf(() => manager(v2Fixture()).create({ cpu: { realtimeRuntime: 1000 } })).message).toContain("realtime");
    expect(errorOf(() => manager(v2Fixture()).create({ network: { classID: 1 } })).message).toContain("net_cls");
  });

  test("non-default device rules are refused on v2 (no BPF device program)", () => {
    const err = errorOf(() =>
      manager(v2Fixture()).create({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "b", major: 8, minor: 0, access: "rw" }] }),
    );
    expect(err.message).toContain("BPF device program");
    manager(v2Fixture()).create({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }] });
  });

  test("a controller the root does not offer is an error naming it", () => {
    const fx = v2Fixture();
    writeFileSync(join(root, "cgroup.controllers"), "cpu memory pids");
    const err = errorOf(() => manager(fx).create({ hugepageLimits: [{ pageSize: "2MB", limit: 0 }] }));
    expect(err.code).toBe("CGROUP_UNAVAILABLE");
    expect(err.message).toContain("hugetlb");
  });

  test("freeze waits for cgroup.events frozen 1; thaw for frozen 0", () => {
    const m = manager(v2Fixture());
    writeFileSync(join(root, "containr/t/cgroup.events"), "populated 1\nfrozen 1\n");
    m.freeze();
    expect(read("containr/t/cgroup.freeze")).toBe("1");
    writeFileSync(join(root, "containr/t/cgroup.events"), "populated 1\nfrozen 0\n");
    m.thaw();
    expect(read("containr/t/cgroup.freeze")).toBe("0");
  });

  test("killAll(SIGKILL) uses cgroup.kill", () => {
    const m = manager(v2Fixture());
    m.killAll(9);
    expect(read("containr/t/cgroup.kill")).toBe("1");
  });

  test("stats come from the v2 files", () => {
    const m = manager(v2Fixture());
    writeFileSync(join(root, "containr/t/memory.max"), String(64 * MiB));
    expect(m.stats()).toEqual({
      memory: { usage: 65536, inactiveFile: 24576, limit: 64 * MiB, maxUsage: 131072 },
      cpu: { usageNanos: 1500000, userNanos: 1000000, systemNanos: 500000 },
      pids: { current: 2, limit: undefined },
      blockIO: { readBytes: 1000, writeBytes: 24 },
    });
  });

  test("a cgroup that read a 50 MiB file: Docker's memory usage leaves out its inactive page cache, the raw usage keeps it", () => {
    const m = manager(v2Fixture());
    writeFileSync(join(root, "containr/t/memory.current"), String(58 * MiB));
    writeFileSync(join(root, "containr/t/memory.stat"), `anon ${6 * MiB}\nfile ${52 * MiB}\nactive_file ${MiB}\ninactive_file ${51 * MiB}\n`);
    const memory = m.stats().memory!;
    expect(memory.usage).toBe(58 * MiB);
    expect(memoryUsageWithoutCache(memory)).toBe(7 * MiB);
    // no memory.stat (or an inactive_file above the usage, read between two updates): the usage as it is, as docker/cli
    rmSync(join(root, "containr/t/memory.stat"));
    expect(memoryUsageWithoutCache(m.stats().memory!)).toBe(58 * MiB);
    writeFileSync(join(root, "containr/t/memory.stat"), `inactive_file ${60 * MiB}\n`);
    expect(memoryUsageWithoutCache(m.stats().memory!)).toBe(58 * MiB);
  });
});
