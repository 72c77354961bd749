import { ContainrError } from "../../diag/errors.ts";
import { runtimeContext } from "../../runtime/container.ts";
import { containerPids } from "../../runtime/manage.ts";
import { defineCommand } from "../command.ts";
import { writeStdout } from "../output.ts";

/**
 * runc ps: json prints the pids; table runs ps(1) with the given options
 * (default -ef) and keeps its header and the container's lines.
 */
export default defineCommand({
  meta: { name: "ps", description: "List the processes of a container" },
  args: {
    id: { type: "positional", description: "Container id", required: true },
    format: { type: "enum", alias: "f", options: ["table", "json"], description: "Output format", valueHint: "table|json", default: "table" },
  },
  passThrough: true,
  run({ args, rest, globals }) {
    const pids = containerPids(runtimeContext(globals), args.id);
    if (args.format === "json") {
      if (rest.length > 0) throw new ContainrError("USAGE", "ps options cannot be used with --format json");
      writeStdout(`${JSON.stringify(pids)}\n`);
      return;
    }
    const r = Bun.spawnSync(["ps", ...(rest.length ? rest : ["-ef"])], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new ContainrError("USAGE", `ps ${rest.join(" ")}: ${r.stderr.toString().trim()}`);
    const [header = "", ...lines] = r.stdout.toString().split("\n");
    const pidColumn = header.trim().split(/\s+/).indexOf("PID");
    if (pidColumn < 0) throw new ContainrError("USAGE", "ps's output has no PID column", { hint: "keep the PID column in the ps options" });
    const wanted = new Set(pids.map(String));
    const kept = lines.filter((line) => wanted.has(line.trim().split(/\s+/)[pidColumn] ?? ""));
    writeStdout(`${[header, ...kept].join("\n")}\n`);
  },
});
