import { systemInfo, type SystemInfo } from "../engine/system-info.ts";
import { defineCommand } from "./command.ts";
import { templateFormatFlag } from "./format/flags.ts";
import { withEngine } from "./container/common.ts";
import { parseTemplate } from "./format/template.ts";
import { bytesSize } from "./format/units.ts";
import pkg from "../../package.json" with { type: "json" };
import { writeStdout } from "./output.ts";

/** docker info's text (docker/cli's prettyPrintInfo), for the fields containr has. */
function prettyInfo(info: SystemInfo): string {
  const security = info.SecurityOptions.flatMap((option) => {
    const fields = Object.fromEntries(option.split(",").map((kv) => kv.split("=") as [string, string]));
    const lines = [`  ${fields.name}`];
    if (fields.profile !== undefined) lines.push(`   Profile: ${fields.profile}`);
    return lines;
  });
  return [
    "Client:",
    ` Version:    ${pkg.version}`,
    " Context:    default",
    "",
    "Server:",
    ` Containers: ${info.Containers}`,
    `  Running: ${info.ContainersRunning}`,
    `  Paused: ${info.ContainersPaused}`,
    `  Stopped: ${info.ContainersStopped}`,
    ` Images: ${info.Images}`,
    ` Server Version: ${info.ServerVersion}`,
    ` Storage Driver: ${info.Driver}`,
    ` Logging Driver: ${info.LoggingDriver}`,
    ` Cgroup Driver: ${info.CgroupDriver}`,
    ` Cgroup Version: ${info.CgroupVersion}`,
    ` Runtimes: ${Object.keys(info.Runtimes).join(" ")}`,
    ` Default Runtime: ${info.DefaultRuntime}`,
    " Security Options:",
    ...security,
    ` Kernel Version: ${info.KernelVersion}`,
    ` Operating System: ${info.OperatingSystem}`,
    ` OSType: ${info.OSType}`,
    ` Architecture: ${info.Architecture}`,
    ` CPUs: ${info.NCPU}`,
    ` Total Memory: ${bytesSize(info.MemTotal)}`,
    ` Name: ${info.Name}`,
    ` ID: ${info.ID}`,
    ` Docker Root Dir: ${info.DockerRootDir}`,
    "",
  ].join("\n");
}

export default defineCommand({
  meta: { name: "info", description: "Display system-wide information" },
  args: {
    format: templateFormatFlag,
  },
  run({ args, globals }) {
    const template = args.format !== undefined && args.format !== "json" ? parseTemplate(args.format.replaceAll("\\t", "\t").replaceAll("\\n", "\n")) : undefined;
    return withEngine(globals, (ctx) => {
      const info = systemInfo(ctx);
      if (args.format === "json") writeStdout(`${JSON.stringify(info)}\n`);
      else if (template !== undefined) writeStdout(`${template.execute(info)}\n`);
      else writeStdout(prettyInfo(info));
    });
  },
});
