import { createContainer, runtimeContext } from "../../runtime/container.ts";
import { ContainrError } from "../../diag/errors.ts";
import { defineCommand } from "../command.ts";

export const createFlags = {
  id: { type: "positional", description: "Container id", required: true },
  bundle: { type: "string", alias: "b", description: "Bundle directory (with config.json)", valueHint: "dir", default: "." },
  pidFile: { type: "string", description: "Write the container's pid to this file", valueHint: "file" },
  noPivot: { type: "boolean", description: "Use MS_MOVE + chroot instead of pivot_root (for a rootfs on ramfs)" },
  consoleSocket: { type: "string", description: "Unix socket that receives the pty master (process.terminal)", valueHint: "socket" },
  noNewKeyring: { type: "boolean", description: "Keep the caller's session keyring instead of a new one per container" },
  preserveFds: { type: "string", description: "Pass fds 3 .. 3+N-1 to the container's process", valueHint: "N", default: "0" },
} as const;

/** The create options shared by create and run. */
export function createOptions(args: { id: string; bundle: string; pidFile?: string; noPivot?: boolean; consoleSocket?: string; noNewKeyring?: boolean; preserveFds?: string }) {
  return {
    id: args.id,
    bundle: args.bundle,
    pidFile: args.pidFile,
    noPivot: args.noPivot,
    consoleSocket: args.consoleSocket,
    noNewKeyring: args.noNewKeyring,
    preserveFds: parsePreserveFds(args.preserveFds),
  };
}

export function parsePreserveFds(value: string | undefined): number {
  const n = Number(value ?? "0");
  if (!Number.isInteger(n) || n < 0 || n > 65536) throw new ContainrError("USAGE", `invalid value "${value}" for --preserve-fds: expected a count of descriptors`);
  return n;
}

export default defineCommand({
  meta: { name: "create", description: "Create a container: its process waits for 'start'" },
  args: createFlags,
  run({ args, globals }) {
    createContainer(runtimeContext(globals), createOptions(args));
  },
});
