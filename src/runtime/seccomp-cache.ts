/**
 * Compiled seccomp programs kept by content, so that each `run` and `exec`
 * of a container with Docker's default profile does not compile the same
 * few hundred rules to BPF again (about 20-70 ms, most of an exec's own
 * time). The key is a SHA-256 of the profile, the native architecture and
 * the identity of this build (executable path, size and mtime: a new build
 * may compile differently). The cache lives in /run (gone at reboot), in a
 * directory only root may write; anything unexpected there means compiling
 * afresh, never trusting the file.
 */
import { lstatSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { log } from "../diag/log.ts";
import { replaceFile } from "../native/replace-file.ts";
import type { CompiledSeccomp } from "../linux/seccomp/compile.ts";
import type { Seccomp } from "../oci/spec.ts";

const CACHE_DIR = "/run/containr/seccomp";
/** 4 bytes of flags, 1 byte notify, then struct sock_filter[] (8 bytes each) */
const HEADER = 5;

function buildIdentity(): string {
  try {
    const st = statSync(process.execPath);
    return `${process.execPath}:${st.size}:${st.mtimeMs}:${process.argv[1] ?? ""}`;
  } catch {
    return `${process.execPath}:${process.argv[1] ?? ""}`;
  }
}

/** The cache directory when it is root's own and private (created so), else undefined. */
function usableDir(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

function decode(bytes: Uint8Array): CompiledSeccomp | undefined {
  if (bytes.length < HEADER || (bytes.length - HEADER) % 8 !== 0) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { flags: view.getUint32(0, true), notify: bytes[4] === 1, filter: bytes.slice(HEADER) };
}

function encode(compiled: CompiledSeccomp): Uint8Array {
  const bytes = new Uint8Array(HEADER + compiled.filter.length);
  new DataView(bytes.buffer).setUint32(0, compiled.flags, true);
  bytes[4] = compiled.notify ? 1 : 0;
  bytes.set(compiled.filter, HEADER);
  return bytes;
}

/** compile(), or the program it produced earlier for the same profile, architecture and build. */
export function cachedCompile(seccomp: Seccomp, nativeArch: string, compile: () => CompiledSeccomp, where = CACHE_DIR): CompiledSeccomp {
  const dir = usableDir(where);
  if (dir === undefined) return compile();
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(buildIdentity());
  hasher.update("\0");
  hasher.update(nativeArch);
  hasher.update("\0");
  hasher.update(JSON.stringify(seccomp));
  const path = join(dir, `${hasher.digest("hex")}.bpf`);
  try {
    const cached = decode(readFileSync(path));
    if (cached !== undefined) return cached;
  } catch {
    // not cached yet
  }
  const compiled = compile();
  try {
    replaceFile(path, encode(compiled), 0o600);
  } catch (err) {
    log.debug(`seccomp cache: ${(err as Error).message}`);
  }
  return compiled;
}
