/**
 * The compiled binary against a private data root and run root, with a
 * busybox image pulled from a real docker-registry on 127.0.0.1: what the
 * engine's e2e tests share. A thin view of engineEnv (./engine-env.ts) with
 * an image that has a user and a group to resolve -u against.
 */
import { engineEnv, type Run } from "./engine-env.ts";

export { processesMentioning, until } from "./engine-env.ts";

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
  const env = await engineEnv(prefix, { files: IMAGE_FILES });
  return {
    work: env.work,
    root: env.root,
    runroot: env.runroot,
    ref: env.ref,
    argv: env.argv([]),
    containr: (args, stdin) => env.containr(args, { stdin }),
    close: () => env.cleanUp(),
  };
}
