import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ContainrError } from "../../diag/errors.ts";
import type { Mount, Spec } from "../../oci/spec.ts";
import { defineCommand } from "../command.ts";

const DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/**
 * runc's `runc spec` example (libcontainer/specconv.Example), with crun's
 * inheritable set too: an ambient capability is raised only when it is also
 * inheritable, so without it the ambient set would be dropped with a warning.
 */
export function exampleSpec(): Spec {
  return {
    ociVersion: "1.2.0",
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        inheritable: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
        ambient: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "containr",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
      },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "cgroup" }],
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

/**
 * runc's ToRootless: a user namespace mapping the caller to root, no network
 * namespace (an unprivileged user cannot set one up with devices), /sys bound
 * from the host, no devpts gid= (that group is not mapped), no cgroup limits.
 */
export function toRootless(spec: Spec, uid: number, gid: number): Spec {
  const linux = spec.linux ?? {};
  const namespaces = (linux.namespaces ?? []).filter((ns) => ns.type !== "network" && ns.type !== "user");
  namespaces.push({ type: "user" });
  const mounts: Mount[] = [];
  for (const m of spec.mounts ?? []) {
    if (m.destination === "/sys/fs/cgroup") continue;
    if (m.destination === "/sys") {
      mounts.push({ destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] });
      continue;
    }
    mounts.push({ ...m, options: m.options?.filter((o) => !o.startsWith("gid=")) });
  }
  const { resources: _dropped, ...rest } = linux;
  return {
    ...spec,
    mounts,
    linux: {
      ...rest,
      namespaces,
      uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
    },
  };
}

export default defineCommand({
  meta: { name: "spec", description: "Write a starter config.json for a bundle, as `runc spec` does" },
  args: {
    bundle: { type: "string", alias: "b", description: "Bundle directory to write config.json in", valueHint: "dir" },
    rootless: { type: "boolean", description: "A config for an unprivileged user (user namespace, no network namespace)" },
  },
  run({ args }) {
    const dir = resolve(args.bundle ?? ".");
    const file = join(dir, "config.json");
    if (existsSync(file)) {
      throw new ContainrError("INVALID_STATE", `${file} already exists`, { hint: "remove it first, or use --bundle DIR" });
    }
    const base = exampleSpec();
    const spec = args.rootless ? toRootless(base, process.getuid?.() ?? 0, process.getgid?.() ?? 0) : base;
    writeFileSync(file, `${JSON.stringify(spec, null, "\t")}\n`, { flag: "wx" });
  },
});
