import { toContainrError, type ContainrError } from "../diag/errors.ts";
import { reportError } from "../diag/log.ts";

/**
 * Run fn for each reference, as docker does for rm, stop, kill, volume rm,
 * network rm: every reference is tried, each failure printed, and the
 * command fails with the first error's status (with a single reference, its
 * error is thrown as it is). `ignore`: failures that are not errors (a
 * missing object with -f).
 */
export async function forEachReference(
  refs: readonly string[],
  fn: (ref: string) => Promise<void> | void,
  ignore: (error: ContainrError) => boolean = () => false,
): Promise<number> {
  let first: ContainrError | undefined;
  for (const ref of refs) {
    try {
      await fn(ref);
    } catch (err) {
      const error = toContainrError(err);
      if (ignore(error)) continue;
      if (refs.length === 1) throw error;
      reportError(error);
      first ??= error;
    }
  }
  return first === undefined ? 0 : first.exit;
}
