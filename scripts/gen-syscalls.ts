#!/usr/bin/env bun
/**
 * Generate the system call tables of the seccomp compiler
 * (src/linux/seccomp/syscalls-<arch>.ts) from the kernel's UAPI headers:
 *
 *   x86_64   <asm/unistd_64.h>
 *   x32      <asm/unistd_x32.h>   (numbers include __X32_SYSCALL_BIT)
 *   x86      <asm/unistd_32.h>    (i386)
 *   aarch64  <asm-generic/unistd.h> evaluated as arm64's <asm/unistd.h> does
 *
 * plus scripts/syscalls/linux-6.2-to-6.18.tbl, the calls newer than the
 * headers Debian ships (linux-libc-dev 6.1). The output is committed, so a
 * build never depends on the headers; rerun this after a header update:
 *
 *   bun scripts/gen-syscalls.ts [--include /usr/include]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const includeArg = process.argv.indexOf("--include");
const include = includeArg > 0 ? process.argv[includeArg + 1]! : "/usr/include";
const X32_SYSCALL_BIT = 0x40000000;

type Table = Map<string, number>;
type TableArch = "x86_64" | "x32" | "x86" | "aarch64";

/** `#define __NR_name 12` and `#define __NR_name (__X32_SYSCALL_BIT + 12)` lines of an x86 unistd header. */
function parseX86Header(path: string): Table {
  const table: Table = new Map();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const m = /^#define __NR_(\w+)\s+(?:\(__X32_SYSCALL_BIT \+ (\d+)\)|(\d+))\s*$/.exec(line);
    if (!m) continue;
    const nr = m[2] !== undefined ? (X32_SYSCALL_BIT | Number(m[2])) >>> 0 : Number(m[3]);
    table.set(m[1]!, nr);
  }
  return table;
}

/**
 * asm-generic/unistd.h is a table guarded by preprocessor conditions. arm64
 * includes it with these macros defined (arch/arm64/include/uapi/asm/unistd.h)
 * and __BITS_PER_LONG 64; this evaluates exactly the conditions the file uses.
 */
const ARM64_DEFINES = new Set([
  "__ARCH_WANT_RENAMEAT",
  "__ARCH_WANT_NEW_STAT",
  "__ARCH_WANT_SET_GET_RLIMIT",
  "__ARCH_WANT_TIME32_SYSCALLS",
  "__ARCH_WANT_SYS_CLONE3",
  "__ARCH_WANT_MEMFD_SECRET",
]);
const BITS_PER_LONG = 64;

function evalCondition(expr: string, defined: (name: string) => boolean): boolean {
  const js = expr
    .replace(/\/\*.*?\*\//g, "")
    .replace(/defined\s*\(\s*(\w+)\s*\)/g, (_, name: string) => (defined(name) ? "true" : "false"))
    .replace(/__BITS_PER_LONG/g, String(BITS_PER_LONG))
    .trim();
  if (!/^[\s\w()!=|&]*$/.test(js)) throw new Error(`unsupported preprocessor condition: ${expr}`);
  return Boolean(new Function(`return (${js});`)());
}

function parseGenericHeader(path: string): Table {
  const macros = new Map<string, string>();
  const defined = (name: string) => ARM64_DEFINES.has(name) || macros.has(name);
  const active: boolean[] = [];
  const taken: boolean[] = [];
  const on = () => active.every(Boolean);
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^#ifdef\s+(\w+)/.exec(line))) {
      const v = defined(m[1]!);
      active.push(v);
      taken.push(v);
    } else if ((m = /^#ifndef\s+(\w+)/.exec(line))) {
      const v = !defined(m[1]!);
      active.push(v);
      taken.push(v);
    } else if ((m = /^#if\s+(.*)$/.exec(line))) {
      const v = evalCondition(m[1]!, defined);
      active.push(v);
      taken.push(v);
    } else if (line.startsWith("#else")) {
      active[active.length - 1] = !taken[taken.length - 1];
    } else if (line.startsWith("#endif")) {
      active.pop();
      taken.pop();
    } else if (on() && (m = /^#undef\s+(\w+)/.exec(line))) {
      macros.delete(m[1]!);
    } else if (on() && (m = /^#define\s+(\w+)\s+(\S+)\s*$/.exec(line))) {
      macros.set(m[1]!, m[2]!);
    }
  }
  const table: Table = new Map();
  for (const [macro, value] of macros) {
    const m = /^__NR_(\w+)$/.exec(macro);
    if (!m || m[1] === "syscalls" || m[1] === "arch_specific_syscall") continue;
    let resolved = value;
    while (macros.has(resolved)) resolved = macros.get(resolved)!;
    if (!/^\d+$/.test(resolved)) continue;
    table.set(m[1]!, Number(resolved));
  }
  return table;
}

function addNewerCalls(tables: Record<TableArch, Table>): void {
  const file = join(root, "scripts/syscalls/linux-6.2-to-6.18.tbl");
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const [nr, abis, name] = line.split(/\s+/);
    const arches = abis === "common" ? (Object.keys(tables) as TableArch[]) : (abis!.split(",") as TableArch[]);
    for (const arch of arches) {
      const table = tables[arch];
      if (!table) throw new Error(`${file}: unknown ABI ${arch}`);
      const number = arch === "x32" ? (X32_SYSCALL_BIT | Number(nr)) >>> 0 : Number(nr);
      if (!table.has(name!)) table.set(name!, number);
    }
  }
}

function render(arch: TableArch, constName: string, source: string, table: Table): string {
  const entries = [...table.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  const body = entries.map(([name, nr]) => `  ${name}: ${arch === "x32" ? `0x${nr.toString(16)}` : nr},`).join("\n");
  return `// Generated by scripts/gen-syscalls.ts from ${source}
// and scripts/syscalls/linux-6.2-to-6.18.tbl. Do not edit by hand.

/** ${arch} system call numbers by name (${entries.length} calls). */
export const ${constName}: Readonly<Record<string, number>> = {
${body}
};
`;
}

const asm = join(include, "x86_64-linux-gnu/asm");
const tables: Record<TableArch, Table> = {
  x86_64: parseX86Header(join(asm, "unistd_64.h")),
  x32: parseX86Header(join(asm, "unistd_x32.h")),
  x86: parseX86Header(join(asm, "unistd_32.h")),
  aarch64: parseGenericHeader(join(include, "asm-generic/unistd.h")),
};
addNewerCalls(tables);

const outputs: [TableArch, string, string][] = [
  ["x86_64", "X86_64_SYSCALLS", "<asm/unistd_64.h>"],
  ["x32", "X32_SYSCALLS", "<asm/unistd_x32.h>"],
  ["x86", "X86_SYSCALLS", "<asm/unistd_32.h>"],
  ["aarch64", "AARCH64_SYSCALLS", "<asm-generic/unistd.h> as included by arm64"],
];
for (const [arch, constName, source] of outputs) {
  const path = join(root, `src/linux/seccomp/syscalls-${arch}.ts`);
  writeFileSync(path, render(arch, constName, source, tables[arch]));
  console.error(`${path}: ${tables[arch].size} system calls`);
}
