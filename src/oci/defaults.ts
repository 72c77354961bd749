/**
 * The defaults of OCI runtime specs that more than one layer writes: runc's
 * `runc spec` example (containr oci spec, the benchmark's and the tests'
 * bundles) and Docker's default spec (the engine's spec builder). Values
 * only, so any layer may import them.
 */
import type { Mount, Namespace, Spec } from "./spec.ts";

/** The version of the runtime spec containr writes and implements. */
export const OCI_VERSION = "1.2.0";

/** Docker's default PATH (oci.DefaultPathEnv), also runc spec's. */
export const DEFAULT_PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The /proc files that both runc spec and Docker mask, in the order both list them. */
const MASKED_PROC_FILES = ["/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug"];

/** runc spec's masked paths (libcontainer/specconv.Example). */
export const RUNC_MASKED_PATHS = ["/proc/acpi", "/proc/asound", ...MASKED_PROC_FILES, "/sys/firmware", "/proc/scsi"];

/** Docker's default masked paths (oci.DefaultLinuxSpec). */
export const DEFAULT_MASKED_PATHS = ["/proc/asound", "/proc/acpi", ...MASKED_PROC_FILES, "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"];

/** Docker's default read-only paths (oci.DefaultLinuxSpec), also runc spec's. */
export const DEFAULT_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** /dev as runc and Docker mount it. */
export const devMount = (): Mount => ({ destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] });

/** /dev/pts as runc and Docker mount it (gid=5: the tty group). */
export const devptsMount = (): Mount => ({
  destination: "/dev/pts",
  type: "devpts",
  source: "devpts",
  options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
});

/** /dev/mqueue as runc and Docker mount it. */
export const mqueueMount = (): Mount => ({ destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] });

/** /sys as runc and Docker mount it. */
export const sysfsMount = (): Mount => ({ destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] });

/** runc spec's namespaces: all but user (and cgroup, which runc spec adds last). */
const RUNC_NAMESPACES: Namespace["type"][] = ["pid", "network", "ipc", "uts", "mount", "cgroup"];

/**
 * The core of runc spec's example, running args without a terminal: root in
 * a writable "rootfs", the default PATH, runc's mounts (less its read-only
 * /sys/fs/cgroup) and namespaces. Callers add or take away what they need.
 */
export function runcBaseSpec(args: string[], hostname: string): Spec {
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: [`PATH=${DEFAULT_PATH_ENV}`, "TERM=xterm"],
      cwd: "/",
    },
    root: { path: "rootfs" },
    hostname,
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      devMount(),
      devptsMount(),
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      mqueueMount(),
      sysfsMount(),
    ],
    linux: { namespaces: RUNC_NAMESPACES.map((type) => ({ type })) },
  };
}
