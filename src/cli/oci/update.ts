import { readFileSync } from "node:fs";
import { ContainrError } from "../../diag/errors.ts";
import type { Resources } from "../../oci/spec.ts";
import { runtimeContext } from "../../runtime/container.ts";
import { updateContainer } from "../../runtime/manage.ts";
import { defineCommand } from "../command.ts";
import { parseMemoryFlag } from "../format/units.ts";

function integer(value: string, flag: string): number {
  if (!/^-?\d+$/.test(value)) throw new ContainrError("USAGE", `invalid value "${value}" for --${flag}: expected an integer`);
  return Number(value);
}

/** runc update: --resources FILE ("-" for stdin) holds linux.resources as JSON; the flags override single limits. */
export default defineCommand({
  meta: { name: "update", description: "Change the resource limits of a container" },
  args: {
    id: { type: "positional", description: "Container id", required: true },
    resources: { type: "string", alias: "r", description: "JSON file with linux.resources ('-' reads stdin)", valueHint: "file" },
    memory: { type: "string", description: "Memory limit (bytes, or 64m, 1g ...)", valueHint: "size" },
    memorySwap: { type: "string", description: "Memory plus swap limit", valueHint: "size" },
    memoryReservation: { type: "string", description: "Memory soft limit", valueHint: "size" },
    cpuShares: { type: "string", description: "CPU shares (relative weight)", valueHint: "n" },
    cpuQuota: { type: "string", description: "CPU CFS quota in microseconds per period", valueHint: "us" },
    cpuPeriod: { type: "string", description: "CPU CFS period in microseconds", valueHint: "us" },
    cpusetCpus: { type: "string", description: "CPUs the container may use (0-3, 0,1)", valueHint: "list" },
    cpusetMems: { type: "string", description: "Memory nodes the container may use", valueHint: "list" },
    pidsLimit: { type: "string", description: "Maximum number of processes", valueHint: "n" },
  },
  run({ args, globals }) {
    let resources: Resources = {};
    if (args.resources) {
      const text = readFileSync(args.resources === "-" ? 0 : args.resources, "utf8");
      try {
        resources = JSON.parse(text) as Resources;
      } catch (err) {
        throw new ContainrError("INVALID_CONFIG", `--resources ${args.resources}: not valid JSON: ${(err as Error).message}`);
      }
    }
    const memory = { ...resources.memory };
    if (args.memory) memory.limit = parseMemoryFlag(args.memory, "--memory");
    if (args.memorySwap) memory.swap = args.memorySwap === "-1" ? -1 : parseMemoryFlag(args.memorySwap, "--memory-swap");
    if (args.memoryReservation) memory.reservation = parseMemoryFlag(args.memoryReservation, "--memory-reservation");
    if (Object.keys(memory).length) resources.memory = memory;
    const cpu = { ...resources.cpu };
    if (args.cpuShares) cpu.shares = integer(args.cpuShares, "cpu-shares");
    if (args.cpuQuota) cpu.quota = integer(args.cpuQuota, "cpu-quota");
    if (args.cpuPeriod) cpu.period = integer(args.cpuPeriod, "cpu-period");
    if (args.cpusetCpus) cpu.cpus = args.cpusetCpus;
    if (args.cpusetMems) cpu.mems = args.cpusetMems;
    if (Object.keys(cpu).length) resources.cpu = cpu;
    if (args.pidsLimit) resources.pids = { limit: integer(args.pidsLimit, "pids-limit") };
    if (Object.keys(resources).length === 0) throw new ContainrError("USAGE", "update needs --resources or at least one limit flag");
    updateContainer(runtimeContext(globals), args.id, resources);
  },
});
