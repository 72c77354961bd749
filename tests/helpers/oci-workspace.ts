/**
 * The per-file workspace of a `containr oci` test: a temp directory with a
 * state root and one bundle (created before the file's tests, removed after
 * them), container ids unique to the file, and a run of the bundle's probe
 * that proves the container left no state directory and no cgroup behind.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../src/oci/spec.ts";
import { cgroupDirsOf, defaultSpec, makeBundle, oci, removeAll, tempDir, type Result, type TestBundle } from "./oci.ts";

export interface OciWorkspace {
  /** the temp directory holding everything below */
  readonly work: string;
  /** the --root state directory */
  readonly root: string;
  readonly bundle: TestBundle;
  /** a container id no other test (file or process) uses */
  nextId(): string;
  /**
   * `oci run` of the bundle with /init ARGS and the spec changed by edit;
   * asserts that the container's state directory and cgroups are gone after.
   */
  run(args: string[], edit?: (s: Spec) => void, options?: { flags?: string[]; id?: string }): Promise<Result>;
}

/**
 * Registers beforeAll/afterAll hooks that set the workspace up (only when
 * enabled, e.g. as root) and remove it; the bundle's config.json first runs
 * processArgs.
 */
export function ociWorkspace(options: { enabled: boolean; dirPrefix: string; idPrefix: string; processArgs: string[] }): OciWorkspace {
  let work = "";
  let root = "";
  let bundle: TestBundle | undefined;
  let counter = 0;

  beforeAll(() => {
    if (!options.enabled) return;
    work = tempDir(options.dirPrefix);
    root = join(work, "state");
    bundle = makeBundle(work, defaultSpec(options.processArgs));
  });

  afterAll(() => {
    if (work) removeAll(work);
  });

  const workspace: OciWorkspace = {
    get work() {
      return work;
    },
    get root() {
      return root;
    },
    get bundle() {
      if (!bundle) throw new Error("the OCI workspace is not set up (its tests must be skipped when it is not enabled)");
      return bundle;
    },
    nextId: () => `${options.idPrefix}-${process.pid}-${++counter}`,
    async run(args, edit = () => {}, { flags = [], id = workspace.nextId() } = {}) {
      const spec = defaultSpec(["/init", ...args]);
      edit(spec);
      workspace.bundle.write(spec);
      const result = await oci(["--root", root, "run", ...flags, "--bundle", workspace.bundle.dir, id]);
      // run removes the container when it exits
      expect(existsSync(join(root, id))).toBe(false);
      expect(cgroupDirsOf(id)).toEqual([]);
      return result;
    },
  };
  return workspace;
}
