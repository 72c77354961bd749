import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CAPABILITIES,
  DOCKER_DEFAULT_CAPABILITIES,
  capabilityMask,
  capabilityMasks,
  capabilityName,
  capabilityNumber,
  dockerCapabilitySets,
  kernelLastCap,
  parseCapabilitySet,
  tweakCapabilities,
} from "../../src/linux/capabilities.ts";

describe("capability names and numbers", () => {
  test("match <linux/capability.h>", () => {
    expect(CAPABILITIES.length).toBe(41);
    expect(capabilityNumber("CAP_CHOWN")).toBe(0);
    expect(capabilityNumber("CAP_NET_ADMIN")).toBe(12);
    expect(capabilityNumber("CAP_SYS_ADMIN")).toBe(21);
    expect(capabilityNumber("CAP_AUDIT_READ")).toBe(37);
    expect(capabilityNumber("CAP_CHECKPOINT_RESTORE")).toBe(40);
    expect(capabilityName(39)).toBe("CAP_BPF");
    expect(capabilityNumber("cap_chown")).toBeUndefined();
  });

  test("this kernel's last capability is read from /proc", () => {
    expect(kernelLastCap()).toBeGreaterThanOrEqual(36);
    const dir = mkdtempSync(join(tmpdir(), "caps-"));
    try {
      writeFileSync(join(dir, "cap_last_cap"), "37\n");
      expect(kernelLastCap(join(dir, "cap_last_cap"))).toBe(37);
      expect(kernelLastCap(join(dir, "missing"))).toBe(40);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("spec capability sets", () => {
  test("an unknown name is an error naming it and the field", () => {
    expect(() => parseCapabilitySet(["CAP_CHOWN", "CAP_FLY"], "process.capabilities.bounding")).toThrow(
      'process.capabilities.bounding: unknown capability "CAP_FLY"',
    );
  });

  test("capabilities newer than the kernel are dropped", () => {
    expect(parseCapabilitySet(["CAP_CHOWN", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"], "f", 38)).toEqual([0]);
  });

  test("sets become 64-bit masks", () => {
    expect(capabilityMask([0, 21, 40])).toBe((1n << 0n) | (1n << 21n) | (1n << 40n));
    const masks = capabilityMasks({ bounding: ["CAP_SYS_ADMIN", "CAP_BPF"], effective: ["CAP_KILL"] }, 40);
    expect(masks.bounding).toBe((1n << 21n) | (1n << 39n));
    expect(masks.effective).toBe(1n << 5n);
    expect(masks.inheritable).toBe(0n);
    expect(masks.ambient).toBe(0n);
  });
});

describe("Docker's defaults and --cap-add/--cap-drop", () => {
  test("the default set has Docker's 14 capabilities", () => {
    expect(DOCKER_DEFAULT_CAPABILITIES.length).toBe(14);
    expect([...DOCKER_DEFAULT_CAPABILITIES].sort() as string[]).toEqual(
      [
        "CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_MKNOD",
        "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
      ].sort(),
    );
    expect(dockerCapabilitySets(["CAP_KILL"])).toEqual({ bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] });
  });

  test("add and drop accept names with or without CAP_, in any case", () => {
    const caps = tweakCapabilities(DOCKER_DEFAULT_CAPABILITIES, { add: ["net_admin", "CAP_SYS_PTRACE"], drop: ["Mknod", "cap_net_raw"] }, 40);
    expect(caps).toContain("CAP_NET_ADMIN");
    expect(caps).toContain("CAP_SYS_PTRACE");
    expect(caps).not.toContain("CAP_MKNOD");
    expect(caps).not.toContain("CAP_NET_RAW");
    expect(caps.length).toBe(14);
  });

  test("ALL works as Docker's: add ALL minus drops, drop ALL plus adds, privileged gets all", () => {
    expect(tweakCapabilities(DOCKER_DEFAULT_CAPABILITIES, { add: ["ALL"], drop: ["sys_admin"] }, 40)).toEqual(
      CAPABILITIES.filter((c) => c !== "CAP_SYS_ADMIN"),
    );
    expect(tweakCapabilities(DOCKER_DEFAULT_CAPABILITIES, { drop: ["all"], add: ["chown"] }, 40)).toEqual(["CAP_CHOWN"]);
    expect(tweakCapabilities(DOCKER_DEFAULT_CAPABILITIES, { privileged: true, drop: ["chown"] }, 37)).toEqual([...CAPABILITIES.slice(0, 38)]);
    expect(tweakCapabilities(DOCKER_DEFAULT_CAPABILITIES, {}, 40)).toEqual([...DOCKER_DEFAULT_CAPABILITIES]);
    expect(tweakCapabilities(DOCKER_DEFAULT_CAPABILITIES, { add: ["chown"] }, 40)).toEqual([...DOCKER_DEFAULT_CAPABILITIES]);
  });

  test("an unknown --cap-add name is a usage error naming the flag", () => {
    expect(() => tweakCapabilities([], { add: ["FLY"] }, 40)).toThrow('--cap-add: unknown capability "FLY"');
  });
});
