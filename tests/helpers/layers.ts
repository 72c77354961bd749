/**
 * Image layers for tests, built with GNU tar from trees described in code,
 * and the GNU tar reference for what unpacking them must give: each layer
 * extracted in order with its OCI whiteouts applied (`.wh.NAME` removes
 * NAME, `.wh..wh..opq` empties its directory of what lower layers put
 * there). `snapshot` lists a tree entry by entry for comparisons.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import * as fs from "../../src/native/fs.ts";

export interface NodeBase {
  path: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** seconds since the epoch, fractions allowed (default DEFAULT_MTIME) */
  mtime?: number;
  xattrs?: Record<string, string | Uint8Array>;
}

export type TreeNode = NodeBase &
  (
    | { type: "dir" }
    | { type: "file"; content?: string | Uint8Array }
    | { type: "symlink"; target: string }
    | { type: "hardlink"; target: string }
    | { type: "char" | "block"; major: number; minor: number }
    | { type: "fifo" }
  );

export const DEFAULT_MTIME = 1_700_000_000;

/** file capability "cap_net_raw+ep" (VFS_CAP_REVISION_2), as setcap writes it */
export const CAP_NET_RAW = new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

function setXattr(path: string, key: string, value: Uint8Array): void {
  const dirfd = fs.openRoot(dirname(path));
  try {
    fs.setXattr(dirfd, basename(path), key, value);
  } finally {
    fs.close(dirfd);
  }
}

function mknod(path: string, mode: number, major: number, minor: number): void {
  const dirfd = fs.openRoot(dirname(path));
  try {
    fs.mknod(dirfd, basename(path), mode, major, minor);
  } finally {
    fs.close(dirfd);
  }
}

/**
 * Create the nodes under dir (parents as needed), then owners, xattrs,
 * modes (after chown, which clears setuid) and finally every mtime, deepest
 * first, so the whole tree is deterministic.
 */
export function buildTree(dir: string, nodes: TreeNode[]): string {
  mkdirSync(dir, { recursive: true });
  for (const n of nodes) {
    const p = join(dir, n.path);
    mkdirSync(dirname(p), { recursive: true });
    switch (n.type) {
      case "dir":
        mkdirSync(p, { recursive: true });
        break;
      case "file":
        writeFileSync(p, n.content ?? "");
        break;
      case "symlink":
        symlinkSync(n.target, p);
        break;
      case "hardlink":
        linkSync(join(dir, n.target), p);
        break;
      case "char":
        mknod(p, fs.S_IFCHR | 0o644, n.major, n.minor);
        break;
      case "block":
        mknod(p, fs.S_IFBLK | 0o644, n.major, n.minor);
        break;
      case "fifo":
        mknod(p, fs.S_IFIFO | 0o644, 0, 0);
        break;
    }
  }
  for (const n of nodes) {
    if (n.type === "hardlink") continue;
    const p = join(dir, n.path);
    lchownSync(p, n.uid ?? 0, n.gid ?? 0);
    for (const [key, value] of Object.entries(n.xattrs ?? {})) {
      setXattr(p, key, typeof value === "string" ? Buffer.from(value) : value);
    }
    if (n.type !== "symlink") chmodSync(p, n.mode ?? (n.type === "dir" ? 0o755 : 0o644));
  }
  const mtimes = new Map(nodes.map((n) => [join(dir, n.path), n.mtime ?? DEFAULT_MTIME]));
  const all = walk(dir).map((rel) => join(dir, rel));
  for (const p of [dir, ...all].sort((a, b) => b.length - a.length)) {
    const t = mtimes.get(p) ?? DEFAULT_MTIME;
    lutimesSync(p, t, t);
  }
  return dir;
}

/** Relative paths below dir, parents before children, in byte order. */
export function walk(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    out.push(r);
    if (lstatSync(join(dir, r)).isDirectory()) out.push(...walk(dir, r));
  }
  return out;
}

export type GnuFormat = "gnu" | "posix" | "ustar";

function run(cmd: string[]): string {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/**
 * A layer tar of tree made by GNU tar, sorted by name, with xattrs when the
 * format is posix (GNU tar stores xattrs only as PAX records).
 */
export function gnuTarLayer(tree: string, out: string, format: GnuFormat): string {
  const xattrs = format === "posix" ? ["--xattrs", "--xattrs-include=*"] : [];
  run(["tar", `--format=${format}`, ...xattrs, "--sort=name", "--numeric-owner", "-cf", out, "-C", tree, "."]);
  return out;
}

/**
 * The reference: GNU tar extracts the layers in order into dest, applying
 * each layer's whiteouts to what the layers below it left there.
 */
export function gnuExtractLayers(layers: string[], dest: string): string {
  mkdirSync(dest, { recursive: true });
  for (const layer of layers) {
    const names = run(["tar", "-tf", layer]).split("\n").filter(Boolean);
    for (const name of names) {
      const clean = name.replace(/^\.\//, "").replace(/\/$/, "");
      const base = basename(clean);
      const parent = join(dest, dirname(clean));
      if (base === ".wh..wh..opq") {
        if (existsSync(parent)) for (const child of readdirSync(parent)) rmSync(join(parent, child), { recursive: true, force: true });
      } else if (base.startsWith(".wh.")) {
        rmSync(join(parent, base.slice(4)), { recursive: true, force: true });
      }
    }
    run(["tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf", layer, "-C", dest, "--exclude=.wh.*"]);
  }
  return dest;
}

export interface SnapshotOptions {
  /** compare mtimes in whole seconds (a writer that keeps seconds only) */
  secondsOnly?: boolean;
  /** leave out the root directory's own line */
  skipRoot?: boolean;
}

/**
 * One line per entry of the tree, in byte order: path, type, mode, owner,
 * size and content digest (files), link target, device numbers, xattrs
 * (overlayfs' own excluded), mtime, and for a hardlinked file the first path
 * of its inode. Two trees are the same when their lines are.
 */
export function snapshot(root: string, options: SnapshotOptions = {}): string[] {
  const lines: string[] = [];
  const firstPathOfInode = new Map<string, string>();
  for (const rel of [".", ...walk(root)]) {
    if (rel === "." && options.skipRoot) continue;
    const p = rel === "." ? root : join(root, rel);
    const st = lstatSync(p, { bigint: true });
    const mode = (Number(st.mode) & 0o7777).toString(8).padStart(4, "0");
    let type = "?";
    let detail = "";
    if (st.isDirectory()) type = "dir";
    else if (st.isSymbolicLink()) {
      type = "symlink";
      detail = `-> ${readlinkSync(p)}`;
    } else if (st.isFile()) {
      type = "file";
      const digest = createHash("sha256").update(readFileSync(p)).digest("hex").slice(0, 16);
      detail = `size=${st.size} sha=${digest}`;
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = firstPathOfInode.get(key);
        if (first === undefined) firstPathOfInode.set(key, rel);
        else detail += ` link=${first}`;
      }
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      type = st.isCharacterDevice() ? "char" : "block";
      const rdev = st.rdev;
      detail = `dev=${(rdev >> 8n) & 0xfffn},${(rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)}`;
    } else if (st.isFIFO()) type = "fifo";
    const xattrs = [...fs.readXattrs(p)]
      .filter(([k]) => !k.startsWith("trusted.overlay.") && !k.startsWith("user.overlay."))
      .map(([k, v]) => `${k}=${Buffer.from(v).toString("hex")}`)
      .sort()
      .join(",");
    const mtime = options.secondsOnly ? `${st.mtimeMs / 1000n}` : `${st.mtimeNs}`;
    const showMode = type === "symlink" ? "----" : mode;
    lines.push(`${rel} ${type} ${showMode} ${st.uid}:${st.gid} ${detail} xattrs=[${xattrs}] mtime=${mtime}`.replace(/ +/g, " "));
  }
  return lines;
}
