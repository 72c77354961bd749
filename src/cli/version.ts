import pkg from "../../package.json" with { type: "json" };
import { defineCommand } from "./command.ts";

export default defineCommand({
  meta: { name: "version", description: "Show the containr version" },
  args: {
    format: { type: "enum", options: ["json"], description: "Output format", valueHint: "json" },
  },
  run({ args }) {
    const info = { Version: pkg.version, Bun: Bun.version, Os: process.platform, Arch: process.arch };
    if (args.format === "json") process.stdout.write(`${JSON.stringify(info)}\n`);
    else process.stdout.write(`containr version ${info.Version} (bun ${info.Bun}, ${info.Os}/${info.Arch})\n`);
  },
});
