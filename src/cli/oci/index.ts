import { ContainrError } from "../../diag/errors.ts";
import { defineCommand } from "../command.ts";
import { applyLogFlags } from "../root.ts";

/**
 * `containr oci`: the low-level OCI runtime with runc's command line, so that
 * Podman, containerd and CRI-O can drive it (through a link named
 * containr-oci). The global flags are runc's and stand before the command.
 */
export default defineCommand({
  meta: { name: "oci", description: "The OCI runtime (runc-compatible command line)" },
  args: {
    root: { type: "string", description: "Directory for the runtime's container state", valueHint: "dir" },
    log: { type: "string", description: "Write diagnostics to this file instead of stderr", valueHint: "file" },
    logFormat: { type: "enum", description: "Diagnostics format", options: ["text", "json"], valueHint: "text|json" },
    debug: { type: "boolean", description: "Debug output, with the timing of each step" },
    systemdCgroup: { type: "boolean", description: "Use systemd to manage cgroups (not supported)" },
    rootless: { type: "string", description: "Ignore cgroup permission errors: true, false or auto", valueHint: "auto" },
  },
  setup(args) {
    applyLogFlags({ debug: args.debug, format: args.logFormat, file: args.log });
    if (args.systemdCgroup) {
      throw new ContainrError("USAGE", "--systemd-cgroup is not supported: containr manages cgroups through cgroupfs", {
        hint: "use the cgroupfs cgroup manager (podman: --cgroup-manager=cgroupfs)",
      });
    }
  },
  subCommands: {
    run: () => import("./run.ts").then((m) => m.default),
    create: () => import("./create.ts").then((m) => m.default),
    start: () => import("./start.ts").then((m) => m.default),
    state: () => import("./state.ts").then((m) => m.default),
    kill: () => import("./kill.ts").then((m) => m.default),
    delete: () => import("./delete.ts").then((m) => m.default),
    list: () => import("./list.ts").then((m) => m.default),
    spec: () => import("./spec.ts").then((m) => m.default),
    exec: () => import("./exec.ts").then((m) => m.default),
    pause: () => import("./pause.ts").then((m) => m.default),
    resume: () => import("./resume.ts").then((m) => m.default),
    ps: () => import("./ps.ts").then((m) => m.default),
    update: () => import("./update.ts").then((m) => m.default),
    features: () => import("./features.ts").then((m) => m.default),
  },
});
