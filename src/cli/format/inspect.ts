/**
 * docker inspect's output, shared by the commands that inspect containers and
 * volumes: every reference is looked up, a missing one is reported and the
 * rest still shown, and the command fails at the end.
 */
import { toContainrError, type ContainrError } from "../../diag/errors.ts";
import type { ErrorCode } from "../../diag/codes.ts";
import { reportError } from "../../diag/log.ts";
import { parseTemplate, type Template } from "./template.ts";
import { writeStdout } from "../output.ts";

/** -f, --format: none or "json" prints an indented JSON array; anything else is a Go template applied to each object. */
export function inspectTemplate(format: string | undefined): Template | undefined {
  return format && format !== "json" ? parseTemplate(format.replaceAll("\\t", "\t").replaceAll("\\n", "\n")) : undefined;
}

/**
 * Print what look finds for each reference. An error with the code notFound is
 * reported (as missing() words it) and sets the exit status; any other error
 * ends the command.
 */
export function printInspected(
  refs: string[],
  template: Template | undefined,
  look: (ref: string) => unknown,
  notFound: ErrorCode,
  missing: (error: ContainrError, ref: string) => ContainrError = (error) => error,
): number {
  const found: unknown[] = [];
  let status = 0;
  for (const ref of refs) {
    try {
      found.push(look(ref));
    } catch (err) {
      const error = toContainrError(err);
      if (error.code !== notFound) throw err;
      reportError(missing(error, ref));
      status = error.exit;
    }
  }
  if (template !== undefined) {
    for (const item of found) writeStdout(`${template.execute(item)}\n`);
  } else {
    writeStdout(`${JSON.stringify(found, null, 4)}\n`);
  }
  return status;
}
