import { runtimeFeatures } from "../../runtime/manage.ts";
import { defineCommand } from "../command.ts";
import { writeStdout } from "../output.ts";

export default defineCommand({
  meta: { name: "features", description: "Print what this runtime supports (JSON, as runc features)" },
  args: {},
  run() {
    writeStdout(`${JSON.stringify(runtimeFeatures(), null, 2)}\n`);
  },
});
