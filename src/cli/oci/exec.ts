import { ContainrError } from "../../diag/errors.ts";
import { execInContainer } from "../../runtime/exec.ts";
import { runtimeContext } from "../../runtime/container.ts";
import { defineCommand } from "../command.ts";
import { parsePreserveFds } from "./create.ts";

/** runc exec's flags; the ones that need an LSM or a sub-cgroup are refused rather than ignored. */
export default defineCommand({
  meta: { name: "exec", description: "Run a process in a running container" },
  args: {
    id: { type: "positional", description: "Container id", required: true },
    process: { type: "string", alias: "p", description: "JSON file with the process to run (the runtime spec's process object)", valueHint: "file" },
    tty: { type: "boolean", alias: "t", description: "Give the process a terminal" },
    consoleSocket: { type: "string", description: "Unix socket that receives the pty master", valueHint: "socket" },
    cwd: { type: "string", description: "Working directory in the container", valueHint: "dir" },
    env: { type: "string", alias: "e", description: "Add an environment variable (NAME=VALUE)", valueHint: "var", multiple: true },
    user: { type: "string", alias: "u", description: "UID[:GID] to run as", valueHint: "uid[:gid]" },
    additionalGids: { type: "string", alias: "g", description: "An additional group id", valueHint: "gid", multiple: true },
    cap: { type: "string", alias: "c", description: "Add a capability (CAP_NAME) to the process", valueHint: "cap", multiple: true },
    noNewPrivs: { type: "boolean", description: "Set no_new_privs for the process" },
    detach: { type: "boolean", alias: "d", description: "Do not wait for the process" },
    pidFile: { type: "string", description: "Write the process's pid to this file", valueHint: "file" },
    preserveFds: { type: "string", description: "Pass fds 3 .. 3+N-1 to the process", valueHint: "N", default: "0" },
    processLabel: { type: "string", description: "SELinux label (not supported)", valueHint: "label" },
    apparmor: { type: "string", description: "AppArmor profile (not supported)", valueHint: "profile" },
    cgroup: { type: "string", description: "Sub-cgroup to run in (not supported)", valueHint: "path" },
    ignorePaused: { type: "boolean", description: "Allow exec in a paused container" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    for (const [flag, value] of [["--process-label", args.processLabel], ["--apparmor", args.apparmor], ["--cgroup", args.cgroup]] as const) {
      if (value) throw new ContainrError("USAGE", `${flag} is not supported: this host has no LSM support in containr, and exec runs in the container's own cgroup`);
    }
    return execInContainer(runtimeContext(globals), {
      id: args.id,
      processFile: args.process,
      args: rest,
      tty: args.tty,
      consoleSocket: args.consoleSocket,
      cwd: args.cwd,
      env: args.env,
      user: args.user,
      additionalGids: args.additionalGids,
      caps: args.cap,
      noNewPrivs: args.noNewPrivs,
      detach: args.detach,
      pidFile: args.pidFile,
      ignorePaused: args.ignorePaused,
      preserveFds: parsePreserveFds(args.preserveFds),
    });
  },
});
