import { expect } from "bun:test";
import { ContainrError } from "../../src/diag/errors.ts";

/** The ContainrError that fn throws; fails the test when fn throws nothing or something else. */
export function errorOf(fn: () => unknown): ContainrError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ContainrError);
    return err as ContainrError;
  }
  throw new Error("expected an error");
}
