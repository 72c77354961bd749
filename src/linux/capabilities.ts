/**
 * Linux capabilities (<linux/capability.h>): names and numbers, the sets of
 * an OCI process as 64-bit masks for the C child, the highest capability the
 * running kernel knows, Docker's default set and its --cap-add/--cap-drop
 * rules (moby oci/caps TweakCapabilities).
 */
import { readFileSync } from "node:fs";
import type { Capabilities } from "../oci/spec.ts";
import { ContainrError } from "../diag/errors.ts";
import { log } from "../diag/log.ts";

/** Every capability, indexed by its number (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40). */
export const CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
] as const;

export type CapabilityName = (typeof CAPABILITIES)[number];

/** The highest capability number containr knows. */
export const CAP_LAST_KNOWN = CAPABILITIES.length - 1;

/** Docker's default capability set (moby oci/caps DefaultCapabilities), in Docker's order. */
export const DOCKER_DEFAULT_CAPABILITIES: readonly CapabilityName[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

const NUMBERS = new Map<string, number>(CAPABILITIES.map((name, i) => [name, i]));

/** The number of a capability name as the OCI spec writes it (CAP_SYS_ADMIN), or undefined. */
export function capabilityNumber(name: string): number | undefined {
  return NUMBERS.get(name);
}

export function capabilityName(number: number): CapabilityName | undefined {
  return CAPABILITIES[number];
}

/**
 * The last capability the running kernel supports
 * (/proc/sys/kernel/cap_last_cap); when it cannot be read, the last one
 * containr knows.
 */
export function kernelLastCap(path = "/proc/sys/kernel/cap_last_cap"): number {
  try {
    const value = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    if (Number.isInteger(value) && value >= 0) return value;
  } catch {
    // /proc not mounted (or not Linux): assume the kernel knows what we know.
  }
  return CAP_LAST_KNOWN;
}

/**
 * The numbers of a capability set written with spec names. An unknown name
 * is an error naming it and the field; capabilities above the kernel's last
 * one are dropped with a debug line (runc and crun do the same: a newer
 * spec must still run on an older kernel).
 */
export function parseCapabilitySet(names: readonly string[], field: string, lastCap: number = CAP_LAST_KNOWN): number[] {
  const numbers: number[] = [];
  for (const name of names) {
    const number = capabilityNumber(name);
    if (number === undefined) {
      throw new ContainrError("INVALID_CONFIG", `${field}: unknown capability "${name}"`, {
        hint: `capabilities are written like CAP_NET_ADMIN; known ones are ${CAPABILITIES[0]} ... ${CAPABILITIES[CAP_LAST_KNOWN]}`,
      });
    }
    if (number > lastCap) {
      log.debug(`${field}: ${name} is not supported by this kernel (last capability ${lastCap}), dropped`);
      continue;
    }
    if (!numbers.includes(number)) numbers.push(number);
  }
  return numbers;
}

/** A set of capability numbers as the 64-bit mask capset(2) and prctl take (two 32-bit words on the C side). */
export function capabilityMask(numbers: readonly number[]): bigint {
  let mask = 0n;
  for (const n of numbers) mask |= 1n << BigInt(n);
  return mask;
}

export interface CapabilityMasks {
  bounding: bigint;
  effective: bigint;
  inheritable: bigint;
  permitted: bigint;
  ambient: bigint;
}

/** The five sets of process.capabilities as masks, clamped to the kernel's last capability. */
export function capabilityMasks(caps: Capabilities | undefined, lastCap: number = kernelLastCap()): CapabilityMasks {
  const mask = (set: keyof Capabilities) => capabilityMask(parseCapabilitySet(caps?.[set] ?? [], `process.capabilities.${set}`, lastCap));
  return {
    bounding: mask("bounding"),
    effective: mask("effective"),
    inheritable: mask("inheritable"),
    permitted: mask("permitted"),
    ambient: mask("ambient"),
  };
}

/** Every capability the running kernel supports, as names. */
export function allCapabilities(lastCap: number = kernelLastCap()): CapabilityName[] {
  return CAPABILITIES.slice(0, Math.min(lastCap, CAP_LAST_KNOWN) + 1);
}

const ALL = "ALL";

/** Docker's spelling rules: case-insensitive, CAP_ optional, "ALL" kept as is; unknown names are USAGE errors naming the flag. */
function normalizeCapabilityArgs(values: readonly string[], flag: string): string[] {
  return values.map((value) => {
    const upper = value.trim().toUpperCase();
    if (upper === ALL) return ALL;
    const name = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
    if (capabilityNumber(name) === undefined) {
      throw new ContainrError("USAGE", `${flag}: unknown capability "${value}"`, {
        hint: "name a capability such as NET_ADMIN or CAP_NET_ADMIN, or ALL",
      });
    }
    return name;
  });
}

export interface CapabilityTweaks {
  add?: readonly string[];
  drop?: readonly string[];
  privileged?: boolean;
}

/**
 * The capability names of a container, as Docker computes them: --privileged
 * gives every capability the kernel has; --cap-add ALL gives all but the
 * dropped ones; --cap-drop ALL keeps only the added ones; otherwise the base
 * set minus the dropped plus the added.
 */
export function tweakCapabilities(
  base: readonly string[],
  tweaks: CapabilityTweaks,
  lastCap: number = kernelLastCap(),
): string[] {
  if (tweaks.privileged) return allCapabilities(lastCap);
  const add = normalizeCapabilityArgs(tweaks.add ?? [], "--cap-add");
  const drop = normalizeCapabilityArgs(tweaks.drop ?? [], "--cap-drop");
  let caps: string[];
  if (add.includes(ALL)) {
    caps = allCapabilities(lastCap).filter((c) => !drop.includes(c));
  } else if (drop.includes(ALL)) {
    caps = add;
  } else {
    caps = [...base.filter((c) => !drop.includes(c)), ...add];
  }
  return [...new Set(caps)];
}

/**
 * process.capabilities for a container given its capability names, as
 * Docker writes them: bounding, effective and permitted hold the set;
 * inheritable and ambient stay empty (moby since CVE-2022-24769).
 */
export function dockerCapabilitySets(caps: readonly string[]): Capabilities {
  return { bounding: [...caps], effective: [...caps], permitted: [...caps] };
}
