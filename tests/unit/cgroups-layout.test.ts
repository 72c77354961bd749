import { describe, expect, test } from "bun:test";
import { detectCgroupMode } from "../../src/linux/cgroups/index.ts";
import { cgroupDirectory, checkCgroupsPath, discoverLayout, parseCgroupMounts, parseProcCgroup } from "../../src/linux/cgroups/layout.ts";
import { deviceRuleLine, pidsMax, rdmaLines, requestedSections, requestsLimits, sharesToWeight, swapForV2 } from "../../src/linux/cgroups/resources.ts";
import { checkDeviceRulesV2 } from "../../src/linux/cgroups/v2.ts";
import { defaultDeviceRules } from "../../src/engine/spec-builder.ts";
import { deviceCgroupWrites } from "../../src/linux/cgroups/v1.ts";
import { errorOf } from "../helpers/errors.ts";

/** The development host's mountinfo (cgroup v1 plus cgroup2 at unified), with a joint cpu,cpuacct mount. */
const HYBRID = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`;
const V1 = HYBRID.split("\n").filter((l) => !l.includes("cgroup2")).join("\n");
const V2 = `25 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

describe("layout detection from mountinfo", () => {
  test("v2 when /sys/fs/cgroup itself is cgroup2", () => {
    expect(detectCgroupMode("/sys/fs/cgroup", V2)).toBe("v2");
  });

  test("hybrid when v1 controllers and cgroup2 at unified", () => {
    expect(detectCgroupMode("/sys/fs/cgroup", HYBRID)).toBe("hybrid");
  });

  test("v1 when there is no cgroup2 mount", () => {
    expect(detectCgroupMode("/sys/fs/cgroup", V1)).toBe("v1");
  });

  test("names do not count: a cgroup2 mount at cpu is not v1, a tmpfs named unified is not cgroup2", () => {
    const tricky = `${V1}\n41 30 0:38 / /sys/fs/cgroup/unified rw - tmpfs tmpfs rw\n`;
    expect(detectCgroupMode("/sys/fs/cgroup", tricky)).toBe("v1");
  });

  test("no cgroup mounts at all is an error naming the root", () => {
    const err = errorOf(() => detectCgroupMode("/sys/fs/cgroup", "22 1 0:21 / /sys rw - sysfs sysfs rw\n"));
    expect(err.code).toBe("CGROUP_UNAVAILABLE");
    expect(err.message).toContain("/sys/fs/cgroup");
  });

  test("joint mounts are one hierarchy with both controllers; named hierarchies are kept", () => {
    const layout = discoverLayout("/sys/fs/cgroup", HYBRID);
    const cpu = layout.v1.find((m) => m.controllers.includes("cpu"));
    expect(cpu?.controllers).toEqual(["cpu", "cpuacct"]);
    expect(cpu?.mountpoint).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(layout.v1.map((m) => m.controllers.join(","))).toContain("name=systemd");
    expect(layout.unified?.mountpoint).toBe("/sys/fs/cgroup/unified");
  });

  test("escaped mountpoints are decoded", () => {
    const [m] = parseCgroupMounts("50 30 0:40 / /tmp/with\\040space rw - cgroup2 cgroup2 rw\n");
    expect(m?.mountpoint).toBe("/tmp/with space");
  });
});

describe("cgroupsPath", () => {
  const memory = { fsType: "cgroup", mountpoint: "/sys/fs/cgroup/memory", mountRoot: "/", controllers: ["memory"] };
  const own = parseProcCgroup("4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/user.slice\n");

  test("/proc/self/cgroup lines become a path per controller, and the unified one", () => {
    expect(own.get("memory")).toBe("/process_api/abc");
    expect(own.get("cpuacct")).toBe("/");
    expect(own.get("")).toBe("/user.slice");
  });

  test("an absolute path is taken from the hierarchy's root", () => {
    expect(cgroupDirectory(memory, "/a/b", own.get("memory"))).toBe("/sys/fs/cgroup/memory/a/b");
  });

  test("a relative path is taken from our own cgroup in that hierarchy", () => {
    expect(cgroupDirectory(memory, "ctr/x", own.get("memory"))).toBe("/sys/fs/cgroup/memory/process_api/abc/ctr/x");
  });

  test("a mount that shows a sub-cgroup as its root: our path is made relative to it", () => {
    const nested = { ...memory, mountRoot: "/process_api" };
    expect(cgroupDirectory(nested, "ctr", own.get("memory"))).toBe("/sys/fs/cgroup/memory/abc/ctr");
  });

  test("the systemd slice:prefix:name form is refused", () => {
    const err = errorOf(() => checkCgroupsPath("system.slice:docker:abc"));
    expect(err.code).toBe("INVALID_CONFIG");
    expect(err.message).toContain("systemd cgroups are not supported");
  });

  test('".." and the root cgroup itself are refused', () => {
    expect(errorOf(() => checkCgroupsPath("/a/../../etc")).message).toContain("..");
    expect(errorOf(() => cgroupDirectory(memory, "/", "/")).code).toBe("INVALID_CONFIG");
  });
});

describe("conversions", () => {
  test("shares → weight: min, default and max meet (runc/crun quadratic)", () => {
    expect(sharesToWeight(0)).toBe(0);
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(100);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(500000)).toBe(10000);
    // The edge cases opencontainers/cgroups' utils_test.go checks.
    expect(sharesToWeight(1)).toBe(1);
    expect(sharesToWeight(3)).toBe(2);
    expect(sharesToWeight(262143)).toBe(10000);
    // Not the old linear formula, which put the default 1024 at 39.
    expect(sharesToWeight(1024)).not.toBe(1 + Math.floor(((1024 - 2) * 9999) / 262142));
    // Monotonic over the whole range.
    let prev = 0;
    for (let s = 2; s <= 262144; s += 97) {
      const w = sharesToWeight(s);
      expect(w).toBeGreaterThanOrEqual(prev);
      prev = w;
    }
  });

  test("swap: the spec's memory+swap becomes v2's swap alone", () => {
    const MiB = 1024 * 1024;
    expect(swapForV2(128 * MiB, 64 * MiB)).toBe(String(64 * MiB));
    expect(swapForV2(64 * MiB, 64 * MiB)).toBe("0");
    expect(swapForV2(-1, 64 * MiB)).toBe("max");
    expect(swapForV2(undefined, -1)).toBe("max");
    expect(swapForV2(undefined, 64 * MiB)).toBeUndefined();
    expect(errorOf(() => swapForV2(32 * MiB, 64 * MiB)).message).toContain("less than the memory limit");
    expect(errorOf(() => swapForV2(32 * MiB, undefined)).message).toContain("needs a memory limit");
  });

  test("pids.max: max for 0 and -1, the number otherwise, other negatives refused", () => {
    expect(pidsMax(20)).toBe("20");
    expect(pidsMax(0)).toBe("max");
    expect(pidsMax(-1)).toBe("max");
    expect(errorOf(() => pidsMax(-5)).code).toBe("INVALID_CONFIG");
  });

  test("device rules: deny-all first, then the spec's order", () => {
    const writes = deviceCgroupWrites([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      { allow: true, type: "c", major: 136, access: "rw" },
      { allow: false, type: "b", major: 8, minor: 0, access: "w" },
    ]);
    expect(writes).toEqual([
      { file: "devices.deny", line: "a" },
      { file: "devices.deny", line: "a *:* rwm" },
      { file: "devices.allow", line: "c 1:3 rwm" },
      { file: "devices.allow", line: "c 136:* rw" },
      { file: "devices.deny", line: "b 8:0 w" },
    ]);
    expect(errorOf(() => deviceRuleLine({ allow: true, access: "rwx" }, 2)).message).toContain("linux.resources.devices[2]");
  });

  test("v2 device rules: the defaults pass, anything needing a BPF program is refused", () => {
    checkDeviceRulesV2([{ allow: true, access: "rwm" }]);
    checkDeviceRulesV2([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      { allow: true, type: "c", major: 136, access: "rwm" },
      { allow: true, type: "b", access: "m" },
    ]);
    // Docker's list: deny-all, the standard nodes, and fuse denied again.
    checkDeviceRulesV2([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 5, access: "rwm" },
      { allow: false, type: "c", major: 10, minor: 229, access: "rwm" },
      { allow: true, type: "c", access: "m" },
    ]);
    // What the engine writes for every unprivileged container passes on v2.
    checkDeviceRulesV2(defaultDeviceRules());
    const err = errorOf(() => checkDeviceRulesV2([{ allow: false, access: "rwm" }, { allow: true, type: "b", major: 8, minor: 0, access: "rwm" }]));
    expect(err.code).toBe("CGROUP_UNAVAILABLE");
    expect(err.message).toContain("BPF device program");
    expect(() => checkDeviceRulesV2([{ allow: false, type: "c", major: 1, minor: 3, access: "rwm" }])).toThrow("BPF");
  });

  test("rdma.max lines name the device and its limits", () => {
    expect(rdmaLines({ mlx4_0: { hcaHandles: 2, hcaObjects: 2000 }, mlx5_1: { hcaObjects: 10 } })).toEqual([
      "mlx4_0 hca_handle=2 hca_object=2000",
      "mlx5_1 hca_object=10",
    ]);
    expect(errorOf(() => rdmaLines({ "bad name": {} })).code).toBe("INVALID_CONFIG");
  });

  test("which sections a request asks for, and whether it sets limits at all", () => {
    expect([...requestedSections({ memory: { limit: 1 }, cpu: { cpus: "0" }, pids: { limit: 3 } })]).toEqual(["memory", "cpuset", "pids"]);
    expect(requestedSections({ cpu: {}, memory: {} }).size).toBe(0);
    expect(requestsLimits({ devices: [{ allow: false, access: "rwm" }] })).toBe(false);
    expect(requestsLimits({ pids: { limit: 3 } })).toBe(true);
    expect(requestsLimits({ unified: { "memory.high": "1" } })).toBe(true);
  });
});
