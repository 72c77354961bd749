import { ContainrError } from "../../diag/errors.ts";
import { defineCommand } from "../command.ts";
import { withVolumeStore } from "./common.ts";
import { writeStdout } from "../output.ts";

/** -o/--opt and --label values: KEY=VALUE (a bare KEY is an empty value, as docker/cli's map options). */
function keyValues(values: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    const key = eq < 0 ? value : value.slice(0, eq);
    if (key === "") throw new ContainrError("USAGE", `invalid argument "${value}" for "${flag}" flag: empty key`);
    out[key] = eq < 0 ? "" : value.slice(eq + 1);
  }
  return out;
}

export default defineCommand({
  meta: { name: "create", description: "Create a volume" },
  args: {
    name: { type: "positional", description: "VOLUME (a random name when absent)" },
    driver: { type: "string", alias: "d", description: "Specify volume driver name (local)", valueHint: "string", default: "local" },
    label: { type: "string", multiple: true, description: "Set metadata for a volume", valueHint: "list" },
    opt: { type: "string", alias: "o", multiple: true, description: "Set driver specific options (type, device, o)", valueHint: "map" },
  },
  run({ args, globals }) {
    if (args.driver !== "local") {
      throw new ContainrError("USAGE", `create: volume driver "${args.driver}" is not supported`, { hint: "containr has the local driver only" });
    }
    const name = args.name;
    const labels = keyValues(args.label, "--label");
    const options = keyValues(args.opt, "-o, --opt");
    return withVolumeStore(globals, (volumes) => {
      const volume = volumes.create({ name, labels, options });
      writeStdout(`${volume.name}\n`);
    });
  },
});
