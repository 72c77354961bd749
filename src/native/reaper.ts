import reaperBinary from "../../build/containr-reaper" with { type: "file" };
import { materialize } from "./embedded.ts";

let path: string | undefined;

/**
 * Path of the init that `run --init` puts at pid 1 (csrc/bin/containr-reaper.c),
 * written out of the executable on first use. 0755: it is bind-mounted into
 * containers whose user may not be root.
 */
export function reaperPath(): string {
  path ??= materialize(reaperBinary, 0o755, { realFile: true });
  return path;
}
