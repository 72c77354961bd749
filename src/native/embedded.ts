import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import { ContainrError } from "../diag/errors.ts";

/**
 * Files embedded in the compiled executable live under /$bunfs/, which only
 * Bun can read. dlopen and execve need real files: Bun's own extraction goes
 * to $TMPDIR and is never cleaned up, so we write them ourselves, once, to a
 * private directory owned by the caller (0700), named by Bun's content hash
 * (libcontainr-<hash>.so), and reuse them on every later start.
 *
 * Outside the compiled binary (bun test, bun run) the path is the real file
 * under build/ and is used as it is.
 */
export function materialize(embeddedPath: string, mode: number): string {
  if (!embeddedPath.startsWith("/$bunfs/")) return embeddedPath;
  const dir = privateDir();
  const target = join(dir, basename(embeddedPath));
  if (existsSync(target)) return target;
  const bytes = readFileSync(embeddedPath);
  const tmp = `${target}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", mode);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
  return target;
}

/** /run/containr/lib for root; $XDG_RUNTIME_DIR/containr/lib (or /tmp/containr-UID/lib) otherwise. */
function privateDir(): string {
  const uid = process.getuid?.() ?? 0;
  const base =
    uid === 0 ? "/run/containr" : process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, "containr") : `/tmp/containr-${uid}`;
  const dir = join(base, "lib");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const d of [base, dir]) {
    const st = lstatSync(d);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
      throw new ContainrError("NATIVE_UNAVAILABLE", `${d} is not a private directory owned by uid ${uid}`, {
        hint: `remove ${d} and run the command again`,
      });
    }
  }
  return dir;
}
