import { listContainers, runtimeContext, type StateReport } from "../../runtime/container.ts";
import { defineCommand } from "../command.ts";
import { writeStdout } from "../output.ts";

/** runc's table: tabwriter with minwidth 12, padding 3. */
function table(rows: StateReport[]): string {
  const lines = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...rows.map((r) => [r.id, String(r.pid), r.status, r.bundle, r.created, r.owner])];
  const widths = lines[0]!.map((_, col) => Math.max(12, ...lines.map((l) => l[col]!.length + 3)));
  return lines.map((l) => l.map((cell, col) => (col === l.length - 1 ? cell : cell.padEnd(widths[col]!))).join("")).join("\n") + "\n";
}

export default defineCommand({
  meta: { name: "list", description: "List containers", alias: ["ls"] },
  args: {
    format: { type: "enum", alias: "f", options: ["table", "json"], description: "Output format", valueHint: "table|json", default: "table" },
    quiet: { type: "boolean", alias: "q", description: "Print only the ids" },
  },
  run({ args, globals }) {
    const rows = listContainers(runtimeContext(globals));
    if (args.quiet) writeStdout(rows.map((r) => `${r.id}\n`).join(""));
    else if (args.format === "json") writeStdout(`${JSON.stringify(rows)}\n`);
    else writeStdout(table(rows));
  },
});
