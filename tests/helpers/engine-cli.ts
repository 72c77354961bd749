/**
 * The compiled binary against a private data root and run root, with a
 * busybox image pulled from a real docker-registry on 127.0.0.1: what the
 * engine's e2e tests share.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage, pushImage } from "./images.ts";
import { startRegistry, type TestRegistry } from "./registry.ts";

export const BIN = join(import.meta.dir, "../../bin/containr");

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

export interface EngineHarness {
  work: string;
  root: string;
  runroot: string;
  /** the pulled image's reference */
  ref: string;
  /** argv prefix: the binary with this harness's roots */
  argv: string[];
  containr(args: string[], stdin?: string): Run;
  /** remove every container, kill what is left, stop the registry, remove the work directory */
  close(): Promise<void>;
}

/** Files every test image has on top of busybox: a user and a group to resolve -u against. */
const IMAGE_FILES = {
  "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:alice:/home/alice:/bin/sh\n",
  "etc/group": "root:x:0:\nstaff:x:1000:alice\n",
  "home/alice/.keep": "",
};

export async function startEngineHarness(prefix: string): Promise<EngineHarness> {
  const work = mkdtempSync(join(tmpdir(), `containr-e2e-${prefix}-`));
  const root = join(work, "root");
  const runroot = join(work, "run");
  const argv = [BIN, "--root", root, "--runroot", runroot];
  const registry: TestRegistry = await startRegistry();
  const image = buildImage(join(work, "image"), {
    layers: [{ busybox: true, files: IMAGE_FILES }],
    config: { Cmd: ["sh"], Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] },
  });
  await pushImage(registry, "e2e/busybox", "latest", image);
  const ref = `${registry.domain}/e2e/busybox:latest`;

  const containr = (args: string[], stdin?: string): Run => {
    const res = Bun.spawnSync([...argv, ...args], {
      stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NO_COLOR: "1" },
      timeout: 60_000,
    });
    if (res.exitCode === null) console.error(`containr ${args.join(" ")}: killed by ${res.signalCode}: ${res.stderr.toString()}`);
    return { status: res.exitCode ?? -1, stdout: res.stdout.toString(), stderr: res.stderr.toString() };
  };
  const pulled = containr(["pull", "-q", ref]);
  if (pulled.status !== 0) throw new Error(`pull ${ref}: ${pulled.stderr}`);

  const close = async () => {
    for (const id of containr(["ps", "-aq", "--no-trunc"]).stdout.split("\n").filter(Boolean)) containr(["rm", "-f", id]);
    for (const pid of processesMentioning(runroot)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await registry.stop();
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  };
  return { work, root, runroot, ref, argv, containr, close };
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
