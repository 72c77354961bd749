/** The --format flags of the commands that print rows or objects, in docker/cli's words. */
import type { FlagDef } from "../command.ts";

/** --format of a list command (table, table TEMPLATE, json or a Go template); example is a template for this command's rows. */
export function tableFormatFlag(example?: string) {
  const forms = example === undefined ? "'table', 'table TEMPLATE', 'json', or a Go template" : `'table', 'table TEMPLATE' (with a header row), 'json', or a Go template such as '${example}'`;
  return { type: "string", description: `Format output using a custom template: ${forms}`, valueHint: "string" } as const satisfies FlagDef;
}

/** -f, --format of a command that prints objects (inspect, info, version): JSON or a Go template. */
export const templateFormatFlag = {
  type: "string",
  alias: "f",
  description: "Format output using a custom template: 'json' or a Go template",
  valueHint: "string",
} as const satisfies FlagDef;
