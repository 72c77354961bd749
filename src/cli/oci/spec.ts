import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ContainrError } from "../../diag/errors.ts";
import { DEFAULT_READONLY_PATHS, RUNC_MASKED_PATHS, runcBaseSpec } from "../../oci/defaults.ts";
import type { Mount, Spec } from "../../oci/spec.ts";
import { defineCommand } from "../command.ts";

const DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/**
 * runc's `runc spec` example (libcontainer/specconv.Example), with crun's
 * inheritable set too: an ambient capability is raised only when it is also
 * inheritable, so without it the ambient set would be dropped with a warning.
 */
export function exampleSpec(): Spec {
  const spec = runcBaseSpec(["sh"], "containr");
  const process = spec.process!;
  process.terminal = true;
  process.capabilities = {
    bounding: [...DEFAULT_CAPS],
    effective: [...DEFAULT_CAPS],
    inheritable: [...DEFAULT_CAPS],
    permitted: [...DEFAULT_CAPS],
    ambient: [...DEFAULT_CAPS],
  };
  process.rlimits = [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }];
  process.noNewPrivileges = true;
  spec.root!.readonly = true;
  spec.mounts!.push({ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] });
  spec.linux = {
    resources: { devices: [{ allow: false, access: "rwm" }] },
    namespaces: spec.linux!.namespaces,
    maskedPaths: [...RUNC_MASKED_PATHS],
    readonlyPaths: [...DEFAULT_READONLY_PATHS],
  };
  return spec;
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
