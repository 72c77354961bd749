import libcontainr from "../../build/libcontainr.so" with { type: "file" };
import { materialize } from "./embedded.ts";

let path: string | undefined;

/**
 * Path of libcontainr.so (csrc/lib/), written out of the executable on first
 * use. Each src/native/ module dlopens it with the symbols it needs; the
 * dynamic loader maps it once.
 */
export function libraryPath(): string {
  path ??= materialize(libcontainr, 0o700);
  return path;
}
