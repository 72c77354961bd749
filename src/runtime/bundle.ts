/**
 * A bundle: a directory with config.json and the root filesystem it names.
 * Loading checks the JSON and the fields the runtime relies on, and every
 * error names the field ("config.json: linux.namespaces[2].type: unknown
 * namespace "foo"").
 */
import { readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { ContainrError } from "../diag/errors.ts";
import type { Spec } from "../oci/spec.ts";

export interface Bundle {
  /** absolute path of the bundle directory */
  dir: string;
  spec: Spec;
  /** absolute path of the root filesystem */
  rootfs: string;
}

export function invalidField(field: string, message: string, hint?: string): ContainrError {
  return new ContainrError("INVALID_CONFIG", `config.json: ${field}: ${message}`, { hint });
}

export function loadBundle(bundleDir: string): Bundle {
  const dir = resolve(bundleDir);
  const configPath = join(dir, "config.json");
  let text: string;
  try {
    text = readFileSync(configPath, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ContainrError("CONFIG_NOT_FOUND", `bundle ${dir}: cannot read config.json: ${code ?? String(err)}`, {
      hint: "pass the bundle directory with --bundle (it must contain config.json); `containr oci spec` writes a starter one",
    });
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (err) {
    throw new ContainrError("INVALID_CONFIG", `config.json in ${dir} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new ContainrError("INVALID_CONFIG", `config.json in ${dir}: the top level must be an object`);
  }
  const s = spec as Spec;
  if (typeof s.ociVersion !== "string") throw invalidField("ociVersion", "missing or not a string");
  if (typeof s.root !== "object" || s.root === null || typeof s.root.path !== "string" || s.root.path === "") {
    throw invalidField("root.path", "missing or not a string");
  }
  const rootfs = isAbsolute(s.root.path) ? s.root.path : join(dir, s.root.path);
  let isDir = false;
  try {
    isDir = statSync(rootfs).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) {
    throw new ContainrError("ROOTFS_NOT_FOUND", `config.json: root.path: the root filesystem ${rootfs} does not exist or is not a directory`, {
      hint: "unpack the image's root filesystem there, or fix root.path (relative paths are taken from the bundle)",
    });
  }
  return { dir, spec: s, rootfs };
}
