import { runcBaseSpec } from "../../src/oci/defaults.ts";
import type { Spec } from "../../src/oci/spec.ts";

/**
 * The one config.json every runtime in the benchmark runs: what `runc spec`
 * gives, less what would make the comparison unequal (no terminal), with the
 * busybox rootfs and the command to time.
 */
export function benchOciConfig(args: string[]): Spec {
  const spec = runcBaseSpec(args, "bench");
  spec.ociVersion = "1.0.2";
  spec.process!.rlimits = [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }];
  spec.process!.noNewPrivileges = true;
  spec.root!.readonly = true;
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== "cgroup");
  return spec;
}
