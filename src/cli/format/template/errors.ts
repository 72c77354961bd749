// Errors: template failures and docker/cli-worded USAGE errors with Go positions.

import { ContainrError } from "../../../diag/errors.ts";

/** A failure inside a function or field evaluation; positioned by the executor. */
export class TemplateFailure extends Error {}

/** Go's error location: the line, and for execution errors the byte column counted from 0. */
function location(source: string, offset: number, withColumn: boolean): string {
  const before = source.slice(0, offset);
  const line = before.split("\n").length;
  if (!withColumn) return `${line}`;
  return `${line}:${Buffer.byteLength(before.slice(before.lastIndexOf("\n") + 1))}`;
}

const HINT = "check the template: field names are case-sensitive ({{.Names}}, {{.State.Pid}}), and strings need double quotes";

/** Worded as docker/cli wraps Go's errors: "template parsing error: template: :1: ...". */
export function templateError(source: string, offset: number, message: string, withColumn = false): ContainrError {
  return new ContainrError("USAGE", `template parsing error: template: :${location(source, offset, withColumn)}: ${message}`, { hint: HINT });
}
