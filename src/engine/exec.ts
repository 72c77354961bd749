/**
 * `exec`: a new process in a running container, through the runtime's exec
 * (containr-init joins the init's namespaces and cgroup and applies the
 * container's seccomp profile), run from this process: no second containr
 * starts, which keeps `exec CONTAINER true` cheap.
 *
 * The process is the container's own (config.json's process: env, user,
 * capabilities, rlimits, no_new_privs) with exec's changes applied as
 * Docker applies them: -e over the container's env, -u resolved in the
 * container's /etc/passwd and /etc/group (users.ts), -w, -t (TERM=xterm),
 * --privileged (every capability of the host's bounding set).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ContainrError } from "../diag/errors.ts";
import { withNullStdin } from "../native/stdio.ts";
import type { Process, Spec } from "../oci/spec.ts";
import { execInContainer } from "../runtime/exec.ts";
import { observe } from "./container-state.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import type { ContainerRecord } from "./records.ts";
import { boundingCapabilities, replaceOrAppendEnv } from "./spec-builder.ts";
import { resolveUser } from "./users.ts";

export interface ExecRequest {
  command: string[];
  /** -i: the process reads this process's stdin; otherwise it reads /dev/null */
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  env: string[];
  user?: string;
  workdir?: string;
  privileged: boolean;
}

/** The container's process with exec's changes (Docker's exec config over the container's). */
export function execProcessOf(base: Process, rootfs: string, request: ExecRequest): Process {
  const proc: Process = structuredClone(base);
  proc.args = request.command;
  proc.terminal = request.tty;
  delete proc.consoleSize;
  let env = proc.env ?? [];
  if (request.user !== undefined && request.user !== "") {
    const user = resolveUser(rootfs, request.user);
    proc.user = { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids };
    env = replaceOrAppendEnv(env, [`HOME=${user.home}`]);
    // a non-root user gets only the bounding set, as the container's own process would
    if (user.uid !== 0 && proc.capabilities !== undefined) proc.capabilities = { bounding: proc.capabilities.bounding };
  }
  if (request.tty && !env.some((e) => e.startsWith("TERM="))) env = [...env, "TERM=xterm"];
  proc.env = replaceOrAppendEnv(env, request.env);
  if (request.workdir !== undefined && request.workdir !== "") {
    if (!request.workdir.startsWith("/")) throw new ContainrError("USAGE", `the working directory '${request.workdir}' is invalid, it needs to be an absolute path`);
    proc.cwd = request.workdir;
  }
  if (request.privileged) {
    const all = [...boundingCapabilities()];
    const caps = proc.capabilities ?? {};
    proc.capabilities = { ...caps, bounding: all, permitted: all, effective: all, ...(caps.inheritable ? { inheritable: caps.inheritable } : {}) };
    if (proc.user.uid !== 0) proc.capabilities = { bounding: all };
  }
  return proc;
}

/** Run request in the container; the process's exit status (0 when detached). */
export function execInRunning(ctx: EngineContext, record: ContainerRecord, request: ExecRequest): number {
  if (request.command.length === 0) throw new ContainrError("USAGE", "exec needs a command to run", { hint: "containr exec CONTAINER COMMAND [ARG...]" });
  if (request.detach && request.tty) {
    throw new ContainrError("USAGE", "exec -d cannot be combined with -t: a detached process has no terminal to attach to", { hint: "drop -t, or drop -d" });
  }
  const { state } = observe(ctx, record);
  if (state.Paused) throw new ContainrError("INVALID_STATE", `container ${record.id} is paused, unpause the container before exec`);
  if (!state.Running || state.Restarting) throw new ContainrError("INVALID_STATE", `container ${record.id} is not running`);
  const paths = containerPaths(ctx, record.id);
  const spec = JSON.parse(readFileSync(join(paths.bundle, "config.json"), "utf8")) as Spec;
  if (spec.process === undefined) throw new ContainrError("INVALID_CONFIG", `container ${record.id} has no process in its config.json`);
  const proc = execProcessOf(spec.process, paths.rootfs, request);
  const exec = () => execInContainer(ctx.runtime, { id: record.id, process: proc, args: [], detach: request.detach });
  return request.interactive ? exec() : withNullStdin(exec);
}
