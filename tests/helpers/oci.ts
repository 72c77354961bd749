/**
 * OCI bundles for runtime tests: a busybox rootfs with the static probe
 * (build/testinit) as /init, and a runc-like default config.json, plus a
 * way to run `containr oci` (from the sources or the compiled binary) and
 * collect its output.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runcBaseSpec } from "../../src/oci/defaults.ts";
import type { Spec } from "../../src/oci/spec.ts";
import { makeBusyboxRootfs } from "./busybox.ts";

const repo = join(import.meta.dir, "../..");
export const TESTINIT = join(repo, "build/testinit");
export const SOURCE_MAIN = join(repo, "src/main.ts");
export const BINARY = join(repo, "bin/containr");

/** The runc-like default spec, running /init with args; devpts has no gid= option. */
export function defaultSpec(args: string[]): Spec {
  const spec = runcBaseSpec(args, "containr-test");
  for (const m of spec.mounts!) if (m.type === "devpts") m.options = m.options!.filter((o) => o !== "gid=5");
  return spec;
}

export interface TestBundle {
  dir: string;
  rootfs: string;
  /** rewrite config.json */
  write(spec: Spec): void;
}

/** A fresh temp directory holding a state root and helpers to clean it. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function makeBundle(parent: string, spec: Spec, name = "bundle"): TestBundle {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  const rootfs = join(dir, "rootfs");
  if (!existsSync(join(rootfs, "bin/busybox"))) makeBusyboxRootfs(rootfs);
  copyFileSync(TESTINIT, join(rootfs, "init"));
  const write = (s: Spec) => writeFileSync(join(dir, "config.json"), JSON.stringify(s, null, 2));
  write(spec);
  return { dir, rootfs, write };
}

export interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Run `containr oci ARGS` (from the sources, or `binary` when given) and
 * wait for it. Output goes through files, not pipes: a created or detached
 * container keeps the CLI's stdio open after the CLI exits.
 */
export async function oci(args: string[], options: { cwd?: string; binary?: string; argv0?: string } = {}): Promise<Result> {
  const cmd = options.binary ? [options.binary, ...args] : [process.execPath, SOURCE_MAIN, "oci", ...args];
  const dir = mkdtempSync(join(tmpdir(), "containr-out-"));
  const out = join(dir, "stdout");
  const err = join(dir, "stderr");
  try {
    const proc = Bun.spawn(cmd, { cwd: options.cwd, stdout: Bun.file(out), stderr: Bun.file(err), argv0: options.argv0 });
    const status = await proc.exited;
    return { status, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Lines of /proc/self/mountinfo that mention path (to prove nothing is left mounted). */
export function mountsUnder(path: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(path));
}

/** The container's default cgroup directories (/containr/ID) that still exist, in every hierarchy. */
export function cgroupDirsOf(id: string): string[] {
  return readdirSync("/sys/fs/cgroup")
    .map((hierarchy) => join("/sys/fs/cgroup", hierarchy, "containr", id))
    .filter((dir) => existsSync(dir));
}

export function removeAll(path: string): void {
  rmSync(path, { recursive: true, force: true });
}
