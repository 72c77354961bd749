/**
 * A root filesystem holding only /etc/passwd and /etc/group, for tests of
 * user resolution: created in a temp directory before the file's tests,
 * removed after them.
 */
import { afterAll, beforeAll } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface AccountsRootfs {
  /** the temp directory (room for a test's own files) */
  readonly base: string;
  /** base/rootfs, with etc/passwd and etc/group */
  readonly rootfs: string;
}

/** Registers the beforeAll/afterAll hooks that create and remove the rootfs. */
export function accountsRootfs(prefix: string, files: { passwd: string; group: string }): AccountsRootfs {
  let base = "";
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), prefix));
    mkdirSync(join(base, "rootfs/etc"), { recursive: true });
    writeFileSync(join(base, "rootfs/etc/passwd"), files.passwd);
    writeFileSync(join(base, "rootfs/etc/group"), files.group);
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  return {
    get base() {
      return base;
    },
    get rootfs() {
      return join(base, "rootfs");
    },
  };
}
