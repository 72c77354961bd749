/**
 * An engine test environment for the e2e tests of volumes and the operator's
 * commands: a temporary --root/--runroot, a docker-registry on 127.0.0.1
 * holding a busybox image (built with the layers the test asks for), the
 * compiled bin/containr driven as a user would, and a clean-up that removes
 * every container, kills every process started under the run root and
 * deletes the directories.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage, pushImage, type LayerSpec } from "./images.ts";
import { startRegistry, type TestRegistry } from "./registry.ts";

export const BIN = join(import.meta.dir, "../../bin/containr");

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

export interface EngineEnv {
  work: string;
  root: string;
  runroot: string;
  /** the pushed image's reference */
  ref: string;
  registry: TestRegistry;
  containr(args: string[], options?: { stdin?: string | Uint8Array; cwd?: string }): Run;
  /** the argv prefix, for Bun.spawn of a long-running command */
  argv(args: string[]): string[];
  inspect(name: string, format: string): string;
  cleanUp(): Promise<void>;
}

/** Every process whose command line mentions text (a test's run root: monitors, exit commands). */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(text)) pids.push(Number(pid));
    } catch {
      // gone
    }
  }
  return pids;
}

export async function until(what: string, fn: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

export async function engineEnv(prefix: string, layer: LayerSpec, config: Record<string, unknown> = {}): Promise<EngineEnv> {
  const work = mkdtempSync(join(tmpdir(), `containr-e2e-${prefix}-`));
  const root = join(work, "root");
  const runroot = join(work, "run");
  const registry = await startRegistry();
  const image = buildImage(join(work, "image"), {
    layers: [{ busybox: true, ...layer }],
    config: { Cmd: ["sh"], Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], ...config },
  });
  await pushImage(registry, `e2e/${prefix}`, "latest", image);
  const ref = `${registry.domain}/e2e/${prefix}:latest`;
  const argv = (args: string[]) => [BIN, "--root", root, "--runroot", runroot, ...args];
  const containr = (args: string[], options: { stdin?: string | Uint8Array; cwd?: string } = {}): Run => {
    const stdin = options.stdin === undefined ? "ignore" : typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin;
    const res = Bun.spawnSync(argv(args), {
      stdin,
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NO_COLOR: "1" },
      timeout: 60_000,
    });
    if (res.exitCode === null) console.error(`containr ${args.join(" ")}: killed by ${res.signalCode}: ${res.stderr.toString()}`);
    return { status: res.exitCode ?? -1, stdout: res.stdout.toString(), stderr: res.stderr.toString() };
  };
  const pull = containr(["pull", "-q", ref]);
  if (pull.status !== 0) throw new Error(`pull: ${pull.stderr}`);
  return {
    work,
    root,
    runroot,
    ref,
    registry,
    containr,
    argv,
    inspect: (name, format) => containr(["inspect", "-f", format, name]).stdout.trim(),
    async cleanUp() {
      for (const id of containr(["ps", "-aq", "--no-trunc"]).stdout.split("\n").filter(Boolean)) containr(["rm", "-f", "-v", id]);
      for (const name of containr(["volume", "ls", "-q"]).stdout.split("\n").filter(Boolean)) containr(["volume", "rm", "-f", name]);
      for (const pid of processesMentioning(runroot)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      await registry.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
