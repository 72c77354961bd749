import monitorBinary from "../../build/containr-monitor" with { type: "file" };
import { materialize } from "./embedded.ts";

let path: string | undefined;

/**
 * Path of the per-container monitor (csrc/bin/containr-monitor/), written
 * out of the executable on first use as an executable only its owner may
 * run (0700), next to libcontainr.so.
 */
export function monitorPath(): string {
  path ??= materialize(monitorBinary, 0o700);
  return path;
}
