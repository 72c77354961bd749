#!/usr/bin/env bun
/**
 * npm run build: compile csrc/ with the system C compiler, then bundle
 * src/main.ts with the C artefacts embedded into one executable, bin/containr.
 *
 *   build/libcontainr.so     loaded through bun:ffi (src/native/): csrc/lib/*.c but the init's child-*.c
 *   build/containr-init      the static helper that clones a container's init (ADR 0001): csrc/bin/containr-init/
 *                            linked with csrc/lib/*.c (child-*.c are the init's steps)
 *   build/containr-monitor   static helper executables, embedded and written out at run time
 *   build/testinit           static probe run inside test containers (tests only, not embedded)
 *
 * Flags: --native-only (C only, for `bun test` against the sources).
 */
import { $ } from "bun";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const csrc = join(root, "csrc");
const out = join(root, "build");
const cc = process.env.CC ?? "cc";
const warnings = ["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"];
const common = ["-O2", "-g0", "-D_GNU_SOURCE", "-fno-strict-aliasing", "-I", csrc, ...warnings];

mkdirSync(out, { recursive: true });

function sources(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".c"))
    .sort()
    .map((f) => join(dir, f));
}

function newestInput(files: string[]): number {
  const headers = readdirSync(csrc, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".h"))
    .map((f) => join(csrc, f));
  return Math.max(...[...files, ...headers].map((f) => statSync(f).mtimeMs));
}

function upToDate(output: string, inputs: string[]): boolean {
  try {
    return statSync(output).mtimeMs >= newestInput(inputs);
  } catch {
    return false;
  }
}

/** The container init's steps: they run in containr-init's clone, never in the Bun process. */
const isInitStep = (file: string) => /\/child-[^/]*\.c$/.test(file);

/** Executables that also link csrc/lib/ (containr-init: the plan, the sync protocol, the init's steps; containr-monitor: fdio.c). */
const LINKED_WITH_LIB = new Set(["containr-init", "containr-monitor"]);

/** The FFI library: csrc/lib/*.c but the init's steps, position independent. */
async function buildLibrary(): Promise<void> {
  const files = sources(join(csrc, "lib")).filter((f) => !isInitStep(f));
  const output = join(out, "libcontainr.so");
  if (upToDate(output, files)) return;
  await $`${cc} ${common} -fPIC -shared -fvisibility=hidden -o ${output} ${files}`;
}

/** One static executable per csrc/bin/NAME/ directory (or csrc/bin/NAME.c). */
async function buildExecutables(): Promise<void> {
  const binDir = join(csrc, "bin");
  let entries: string[] = [];
  try {
    entries = readdirSync(binDir);
  } catch {
    return;
  }
  for (const entry of entries.sort()) {
    const path = join(binDir, entry);
    const isDir = statSync(path).isDirectory();
    if (!isDir && !entry.endsWith(".c")) continue;
    const name = isDir ? entry : entry.slice(0, -2);
    const own = isDir ? sources(path) : [path];
    const files = LINKED_WITH_LIB.has(name) ? [...own, ...sources(join(csrc, "lib"))] : own;
    const output = join(out, name);
    if (upToDate(output, files)) continue;
    // only what main() reaches is kept from csrc/lib/
    const sections = LINKED_WITH_LIB.has(name) ? ["-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections"] : [];
    await $`${cc} ${common} ${sections} -static -o ${output} ${files}`;
  }
}

await buildLibrary();
await buildExecutables();
if (!process.argv.includes("--native-only")) {
  mkdirSync(join(root, "bin"), { recursive: true });
  // A root tool must never load ./.env, ./bunfig.toml (preload scripts),
  // tsconfig.json or package.json from the directory it is started in.
  // --bytecode: the bundle is precompiled, which saves most of its parse time at every start.
  await $`${process.execPath} build --compile --minify --bytecode --sourcemap=none \
    --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
    --no-compile-autoload-tsconfig --no-compile-autoload-package-json \
    ${join(root, "src/main.ts")} --outfile ${join(root, "bin/containr")}`.quiet();
  console.error(`built ${join(root, "bin/containr")}`);
}
