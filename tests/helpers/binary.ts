/** Drive the compiled executable as a user would: bin/containr, built by `npm run build`. */
import { existsSync } from "node:fs";
import { join } from "node:path";

export const BINARY = join(import.meta.dir, "../../bin/containr");

export function hasBinary(): boolean {
  return existsSync(BINARY);
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  stdin?: string;
  /** argv[0] as the program sees it (to test the containr-oci link name, pass the link's path as binary) */
  binary?: string;
  timeoutMs?: number;
}

export async function runContainr(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const proc = Bun.spawn([options.binary ?? BINARY, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, NO_COLOR: "1", ...options.env } as Record<string, string>,
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
    timeout: options.timeoutMs ?? 60_000,
  });
  const [stdout, stderr, status] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { status, stdout, stderr };
}
