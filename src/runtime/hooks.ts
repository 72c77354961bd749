/**
 * OCI hooks. prestart and createRuntime (while the init waits before its
 * pivot), poststart (after start) and poststop (after delete) run here, in
 * the runtime's namespaces; createContainer and startContainer run inside
 * the container, from the C init (csrc/lib/child-hooks.c), from the plan.
 * Each hook gets the container's state JSON on stdin, its own args and env,
 * and its timeout. A failing prestart/createRuntime hook fails the
 * container; poststart and poststop failures are warnings (runtime spec).
 */
import { posix } from "node:path";
import { ContainrError } from "../diag/errors.ts";
import { log } from "../diag/log.ts";
import type { Hook, Hooks, State } from "../oci/spec.ts";
import { invalidField } from "./bundle.ts";

export type HookKind = keyof Hooks;

export const HOOK_KINDS: HookKind[] = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];

export interface CheckedHook {
  path: string;
  args: string[];
  env: string[];
  /** seconds; 0: none */
  timeout: number;
}

export type CheckedHooks = Record<HookKind, CheckedHook[]>;

export function checkHooks(hooks: Hooks | undefined): CheckedHooks {
  const out = Object.fromEntries(HOOK_KINDS.map((k) => [k, [] as CheckedHook[]])) as CheckedHooks;
  if (hooks === undefined) return out;
  if (typeof hooks !== "object" || hooks === null) throw invalidField("hooks", "must be an object");
  for (const kind of HOOK_KINDS) {
    const list = hooks[kind];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw invalidField(`hooks.${kind}`, "must be an array");
    out[kind] = list.map((h: Hook, i) => {
      const field = `hooks.${kind}[${i}]`;
      if (typeof h?.path !== "string" || !posix.isAbsolute(h.path)) throw invalidField(`${field}.path`, `must be an absolute path, got ${JSON.stringify(h?.path)}`);
      for (const key of ["args", "env"] as const) {
        const v = h[key];
        if (v !== undefined && (!Array.isArray(v) || v.some((s) => typeof s !== "string" || s.includes("\0")))) throw invalidField(`${field}.${key}`, "must be an array of strings");
      }
      if (h.timeout !== undefined && !(Number.isInteger(h.timeout) && h.timeout > 0)) throw invalidField(`${field}.timeout`, "must be a positive number of seconds");
      return { path: h.path, args: h.args ?? [h.path], env: h.env ?? [], timeout: h.timeout ?? 0 };
    });
  }
  return out;
}

/** The state JSON a hook reads; pid last, so that the C init can append its own. */
export function hookStateJson(state: Omit<State, "pid">, pid?: number): string {
  const body = JSON.stringify({ ociVersion: state.ociVersion, id: state.id, status: state.status, bundle: state.bundle, annotations: state.annotations ?? {} });
  return `${body.slice(0, -1)},"pid":${pid === undefined ? "" : `${pid}}`}`;
}

/**
 * Run the runtime-side hooks of one kind in order. A failure throws (with
 * the hook's output) unless `warnOnly`, which logs it and goes on.
 */
export function runHooks(kind: HookKind, hooks: CheckedHook[], state: State, warnOnly = false): void {
  const stdin = Buffer.from(hookStateJson(state, state.pid ?? 0));
  hooks.forEach((hook, i) => {
    const what = `hooks.${kind}[${i}] ${hook.path}`;
    let failure: string | undefined;
    try {
      const r = Bun.spawnSync([hook.path, ...hook.args.slice(1)], {
        argv0: hook.args[0] ?? hook.path,
        env: Object.fromEntries(hook.env.map((e) => [e.slice(0, e.indexOf("=") >>> 0), e.slice(e.indexOf("=") + 1)])),
        stdin,
        stdout: "pipe",
        stderr: "pipe",
        timeout: hook.timeout ? hook.timeout * 1000 : undefined,
      });
      const output = `${r.stdout.toString()}${r.stderr.toString()}`.trim();
      if (r.exitedDueToTimeout) failure = `timed out after ${hook.timeout}s`;
      else if (r.exitCode !== 0) failure = `${r.signalCode ? `killed by ${r.signalCode}` : `exit status ${r.exitCode}`}${output ? `: ${output}` : ""}`;
    } catch (err) {
      failure = `cannot execute it: ${(err as Error).message}`;
    }
    if (failure === undefined) return;
    if (warnOnly) {
      log.warn(`${what}: ${failure}`);
      return;
    }
    throw new ContainrError("CONTAINER_INIT_FAILED", `${what}: ${failure}`, { hint: `fix or remove the hook in hooks.${kind} of config.json` });
  });
}
