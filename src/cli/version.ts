import { versionInfo, type VersionInfo } from "../engine/version-info.ts";
import { defineCommand } from "./command.ts";
import { templateFormatFlag } from "./format/flags.ts";
import { parseTemplate } from "./format/template.ts";
import { writeStdout } from "./output.ts";

/** docker version's text: the client, then the "server" (for containr, the same executable). */
function prettyVersion(v: VersionInfo): string {
  const row = (label: string, value: string, indent: string) => `${indent}${`${label}:`.padEnd(19 - indent.length)} ${value}`;
  return [
    `Client: ${v.Client.Platform.Name}`,
    row("Version", v.Client.Version, " "),
    row("API version", v.Client.ApiVersion, " "),
    row("Bun version", v.Client.BunVersion, " "),
    row("OS/Arch", `${v.Client.Os}/${v.Client.Arch}`, " "),
    "",
    `Server: ${v.Server.Platform.Name} (daemonless: this executable)`,
    ...v.Server.Components.flatMap((c) => [` ${c.Name}:`, row("Version", c.Version, "  ")]),
    row("Kernel", v.Server.KernelVersion, " "),
    row("OS/Arch", `${v.Server.Os}/${v.Server.Arch}`, " "),
    "",
  ].join("\n");
}

export default defineCommand({
  meta: { name: "version", description: "Show the containr version information" },
  args: {
    format: templateFormatFlag,
  },
  run({ args }) {
    const info = versionInfo();
    if (args.format === "json") writeStdout(`${JSON.stringify(info)}\n`);
    else if (args.format !== undefined) writeStdout(`${parseTemplate(args.format.replaceAll("\\t", "\t").replaceAll("\\n", "\n")).execute(info)}\n`);
    else writeStdout(prettyVersion(info));
  },
});
