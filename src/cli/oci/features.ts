import { runtimeFeatures } from "../../runtime/manage.ts";
import { defineCommand } from "../command.ts";

export default defineCommand({
  meta: { name: "features", description: "Print what this runtime supports (JSON, as runc features)" },
  args: {},
  run() {
    process.stdout.write(`${JSON.stringify(runtimeFeatures(), null, 2)}\n`);
  },
});
