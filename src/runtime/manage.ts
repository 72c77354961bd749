/**
 * The runtime's commands on a living container besides the lifecycle:
 * pause and resume (v1 freezer or v2 cgroup.freeze), ps (the pids in its
 * cgroup), update (new resource limits) and features (what this runtime
 * supports, as runc's `features` JSON).
 */
import { rmSync, writeFileSync } from "node:fs";
import { ContainrError } from "../diag/errors.ts";
import { CAPABILITIES } from "../linux/capabilities.ts";
import type { Resources } from "../oci/spec.ts";
import { managerOf, type RuntimeContext } from "./container.ts";
import { PROPAGATION } from "./mounts.ts";
import { OCI_VERSION } from "../oci/defaults.ts";
import { containerDir, pausedMarker, readState, statusOf, withLock, type Status } from "./state.ts";

function requireStatus(ctx: RuntimeContext, id: string, action: string, allowed: Status[]) {
  const dir = containerDir(ctx.root, id);
  const state = readState(ctx.root, id);
  const status = statusOf(state, dir);
  if (!allowed.includes(status)) throw new ContainrError("INVALID_STATE", `cannot ${action} container ${id}: it is ${status}`);
  return { dir, state };
}

export function pauseContainer(ctx: RuntimeContext, id: string): void {
  const { dir, state } = requireStatus(ctx, id, "pause", ["running", "created"]);
  withLock(dir, () => {
    managerOf(ctx, state).freeze();
    writeFileSync(pausedMarker(dir), "");
  });
}

export function resumeContainer(ctx: RuntimeContext, id: string): void {
  const { dir, state } = requireStatus(ctx, id, "resume", ["paused"]);
  withLock(dir, () => {
    managerOf(ctx, state).thaw();
    rmSync(pausedMarker(dir), { force: true });
  });
}

/** The pids in the container's cgroup (host pids, as runc ps). */
export function containerPids(ctx: RuntimeContext, id: string): number[] {
  const { state } = requireStatus(ctx, id, "list the processes of", ["created", "running", "paused"]);
  return managerOf(ctx, state).pids().sort((a, b) => a - b);
}

export function updateContainer(ctx: RuntimeContext, id: string, resources: Resources): void {
  const { dir, state } = requireStatus(ctx, id, "update", ["created", "running", "paused"]);
  withLock(dir, () => managerOf(ctx, state).update(resources));
}

/** runc's features document (runtime-spec features.md), for what containr implements. */
export function runtimeFeatures() {
  const mountOptions = ["defaults", "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync", "async", "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime", "lazytime", "nolazytime", "nosymfollow", "symfollow", "silent", "loud", "bind", "rbind", ...Object.keys(PROPAGATION)];
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions,
    linux: {
      namespaces: ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
      capabilities: [...CAPABILITIES],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true },
      seccomp: {
        enabled: true,
        actions: ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
        operators: ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
        archs: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"],
        knownFlags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        supportedFlags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { "org.opencontainers.runc.checkpoint.enabled": "false", "io.github.containr.runtime": "containr oci" },
  };
}
