/**
 * Docker-format seccomp profiles (--security-opt seccomp=PROFILE.json, the
 * built-in default) turned into the OCI linux.seccomp of one container,
 * exactly as moby's profiles/seccomp setupSeccomp does: archMap picks the
 * native architecture and its sub-architectures, and each rule's
 * includes/excludes are resolved against the container's bounding
 * capabilities, the Go name of the architecture and the host kernel.
 */
import { readFileSync } from "node:fs";
import { release } from "node:os";
import type { Seccomp, SeccompAction, SeccompArg, SeccompSyscall } from "../oci/spec.ts";
import { ContainrError } from "../diag/errors.ts";

export interface DockerSeccompFilter {
  /** capabilities (CAP_SYS_ADMIN) that must all be present (includes) / any of which excludes */
  caps?: string[];
  /** Go architecture names: amd64, arm64, 386, arm, s390x, ppc64le, ... */
  arches?: string[];
  /** "major.minor" of the host kernel */
  minKernel?: string;
}

export interface DockerSeccompSyscall {
  name?: string;
  names?: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  comment?: string;
  includes?: DockerSeccompFilter;
  excludes?: DockerSeccompFilter;
}

export interface DockerSeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures: string[] | null }[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: DockerSeccompSyscall[];
}

/** What a profile is resolved for: one container on one host. */
export interface SeccompTarget {
  /** the container's bounding capabilities, spec names */
  capabilities: readonly string[];
  /** libseccomp name of the native architecture (nativeSeccompArch()) */
  nativeArch: string;
  /** the host kernel release, e.g. "6.18.4"; defaults to uname -r */
  kernelRelease?: string;
}

/** Go's GOARCH for a libseccomp architecture name: the names profiles use in includes/excludes.arches. */
const GOARCH: Record<string, string> = {
  SCMP_ARCH_X86_64: "amd64",
  SCMP_ARCH_X86: "386",
  SCMP_ARCH_AARCH64: "arm64",
  SCMP_ARCH_ARM: "arm",
  SCMP_ARCH_PPC64LE: "ppc64le",
  SCMP_ARCH_S390X: "s390x",
  SCMP_ARCH_RISCV64: "riscv64",
  SCMP_ARCH_MIPS64: "mips64",
  SCMP_ARCH_MIPSEL64: "mips64le",
  SCMP_ARCH_LOONGARCH64: "loong64",
};

function invalid(source: string, message: string, hint?: string): ContainrError {
  return new ContainrError("INVALID_CONFIG", `seccomp profile ${source}: ${message}`, { hint });
}

/** Parse a profile's JSON text; `source` names it in errors (a path or "built-in"). */
export function parseDockerSeccompProfile(text: string, source: string): DockerSeccompProfile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(source, `not valid JSON: ${(err as Error).message}`, "the file must be a Docker seccomp profile (JSON)");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(source, "not a JSON object");
  const profile = value as DockerSeccompProfile;
  if (typeof profile.defaultAction !== "string") throw invalid(source, 'missing "defaultAction"');
  if (profile.syscalls !== undefined && profile.syscalls !== null && !Array.isArray(profile.syscalls)) {
    throw invalid(source, '"syscalls" must be a list');
  }
  return profile;
}

/** Read and parse a profile file (--security-opt seccomp=PATH). */
export function loadDockerSeccompProfile(path: string): DockerSeccompProfile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ContainrError("CONFIG_NOT_FOUND", `seccomp profile ${path}: ${(err as NodeJS.ErrnoException).code ?? "cannot be read"}`, {
      hint: "give the path of a readable Docker seccomp profile, or seccomp=unconfined",
      cause: err,
    });
  }
  return parseDockerSeccompProfile(text, path);
}

function kernelAtLeast(minKernel: string, kernelRelease: string, source: string): boolean {
  const want = /^(\d+)\.(\d+)/.exec(minKernel);
  if (!want) throw invalid(source, `invalid minKernel "${minKernel}"`, 'write it as "major.minor", e.g. "4.8"');
  const have = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!have) throw invalid(source, `cannot compare with kernel release "${kernelRelease}"`);
  const [wantMajor, wantMinor] = [Number(want[1]), Number(want[2])];
  const [haveMajor, haveMinor] = [Number(have[1]), Number(have[2])];
  return haveMajor > wantMajor || (haveMajor === wantMajor && haveMinor >= wantMinor);
}

/** Whether a rule applies to the target, by its includes (all must hold) and excludes (any one rules it out). */
function ruleApplies(call: DockerSeccompSyscall, target: SeccompTarget, goArch: string, kernelRelease: string, source: string): boolean {
  const ex = call.excludes;
  if (ex) {
    if (ex.arches?.includes(goArch)) return false;
    if (ex.caps?.some((c) => target.capabilities.includes(c))) return false;
    if (ex.minKernel && kernelAtLeast(ex.minKernel, kernelRelease, source)) return false;
  }
  const inc = call.includes;
  if (inc) {
    if (inc.arches && inc.arches.length > 0 && !inc.arches.includes(goArch)) return false;
    if (inc.caps?.some((c) => !target.capabilities.includes(c))) return false;
    if (inc.minKernel && !kernelAtLeast(inc.minKernel, kernelRelease, source)) return false;
  }
  return true;
}

/**
 * The OCI linux.seccomp a Docker-format profile gives one container
 * (moby's setupSeccomp). `source` names the profile in errors.
 */
export function dockerSeccompToOci(profile: DockerSeccompProfile, target: SeccompTarget, source = "built-in"): Seccomp {
  if ((profile.architectures?.length ?? 0) > 0 && (profile.archMap?.length ?? 0) > 0) {
    throw invalid(source, "both 'architectures' and 'archMap' are given", "use either 'architectures' or 'archMap'");
  }
  const goArch = GOARCH[target.nativeArch] ?? target.nativeArch;
  const kernelRelease = target.kernelRelease ?? release();

  const architectures = [...(profile.architectures ?? [])];
  for (const entry of profile.archMap ?? []) {
    if (entry.architecture === target.nativeArch) {
      architectures.push(entry.architecture, ...(entry.subArchitectures ?? []));
    }
  }

  const seccomp: Seccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) seccomp.defaultErrnoRet = profile.defaultErrnoRet;
  if (architectures.length > 0) seccomp.architectures = architectures;
  if (profile.flags && profile.flags.length > 0) seccomp.flags = [...profile.flags];
  if (profile.listenerPath) seccomp.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) seccomp.listenerMetadata = profile.listenerMetadata;

  seccomp.syscalls = [];
  (profile.syscalls ?? []).forEach((call, i) => {
    if (call.name && call.names && call.names.length > 0) {
      throw invalid(source, `syscalls[${i}]: both 'name' and 'names' are given`, "use either 'name' or 'names'");
    }
    const names = call.name ? [call.name] : (call.names ?? []);
    if (!ruleApplies(call, target, goArch, kernelRelease, source)) return;
    const rule: SeccompSyscall = { names: [...names], action: call.action };
    if (call.errnoRet !== undefined) rule.errnoRet = call.errnoRet;
    if (call.args && call.args.length > 0) rule.args = call.args.map((a) => ({ ...a }));
    seccomp.syscalls!.push(rule);
  });
  return seccomp;
}
