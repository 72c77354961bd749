/**
 * fd 0 of this process, pointed at /dev/null for the span of a call
 * (csrc/lib/engine-stdio.c): the runtime's helpers inherit this process's
 * stdio, and an exec without -i must give its process no input.
 */
import { dlopen, FFIType } from "bun:ffi";
import { fromErrno } from "../diag/errors.ts";
import { libraryPath } from "./library.ts";

let lib: ReturnType<typeof load> | undefined;

function load() {
  return dlopen(libraryPath(), {
    containr_engine_stdin_to_null: { args: [], returns: FFIType.i32 },
    containr_engine_stdin_restore: { args: [FFIType.i32], returns: FFIType.i32 },
  }).symbols;
}

/** Run fn with fd 0 on /dev/null, then restore it (also when fn throws). */
export function withNullStdin<T>(fn: () => T): T {
  lib ??= load();
  const saved = lib.containr_engine_stdin_to_null();
  if (saved < 0) throw fromErrno(-saved, "point stdin at /dev/null");
  try {
    return fn();
  } finally {
    const rc = lib.containr_engine_stdin_restore(saved);
    if (rc < 0) throw fromErrno(-rc, "restore stdin");
  }
}
