import { toContainrError } from "../diag/errors.ts";
import type { EngineContext } from "../engine/context.ts";
import { shortId } from "../engine/ids.ts";
import { summarize } from "../engine/inspect.ts";
import { cpuPercent, sampleStats, type StatsSample } from "../engine/operations.ts";
import type { ContainerRecord } from "../engine/records.ts";
import { defineCommand } from "./command.ts";
import { tableFormatFlag } from "./format/flags.ts";
import { withEngine } from "./container/common.ts";
import { dockerContext, formatRows } from "./format/template.ts";
import { bytesSize, humanSizeWithPrecision } from "./format/units.ts";
import { writeStdout } from "./output.ts";

/** docker/cli's stats format (cli/command/container/formatter_stats.go). */
const DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

export const STATS_HEADERS = {
  Container: "CONTAINER",
  ID: "CONTAINER ID",
  Name: "NAME",
  CPUPerc: "CPU %",
  MemUsage: "MEM USAGE / LIMIT",
  MemPerc: "MEM %",
  NetIO: "NET I/O",
  BlockIO: "BLOCK I/O",
  PIDs: "PIDS",
};

/** The fields of docker's statsContext, in its JSON's (sorted) order. */
export interface StatsRow {
  BlockIO: string;
  CPUPerc: string;
  Container: string;
  ID: string;
  MemPerc: string;
  MemUsage: string;
  Name: string;
  NetIO: string;
  PIDs: string;
}

const percent = (n: number) => `${n.toFixed(2)}%`;
const pair = (a: number, b: number) => `${humanSizeWithPrecision(a, 3)} / ${humanSizeWithPrecision(b, 3)}`;

export function statsRow(record: ContainerRecord, shown: string, previous: StatsSample | undefined, current: StatsSample | undefined): StatsRow {
  if (current === undefined) {
    // not running: Docker's placeholders
    return dockerContext({ BlockIO: "--", CPUPerc: "--", Container: shown, ID: shortId(record.id), MemPerc: "--", MemUsage: "-- / --", Name: record.name, NetIO: "--", PIDs: "--" });
  }
  return dockerContext({
    BlockIO: pair(current.blockRead, current.blockWrite),
    CPUPerc: percent(cpuPercent(previous, current)),
    Container: shown,
    ID: shortId(record.id),
    MemPerc: percent(current.memoryLimit > 0 ? (current.memoryUsage / current.memoryLimit) * 100 : 0),
    MemUsage: `${bytesSize(current.memoryUsage)} / ${bytesSize(current.memoryLimit)}`,
    Name: record.name,
    NetIO: current.network === undefined ? "--" : pair(current.network.rx, current.network.tx),
    PIDs: String(current.pids),
  });
}

function trySample(ctx: EngineContext, record: ContainerRecord): StatsSample | undefined {
  try {
    return sampleStats(ctx, record);
  } catch (err) {
    const code = toContainrError(err).code;
    if (code === "INVALID_STATE" || code === "CONTAINER_NOT_FOUND") return undefined;
    throw err;
  }
}

/** How often the live table is redrawn, and the gap between --no-stream's two CPU samples. */
const INTERVAL_MS = 1000;

export default defineCommand({
  meta: { name: "stats", description: "Display a live stream of container(s) resource usage statistics" },
  args: {
    container: { type: "positional", description: "CONTAINER (default: all running)" },
    all: { type: "boolean", alias: "a", description: "Show all containers (default shows just running)" },
    noStream: { type: "boolean", description: "Disable streaming stats and only pull the first result" },
    noTrunc: { type: "boolean", description: "Do not truncate output" },
    format: tableFormatFlag(),
  },
  passThrough: true,
  run({ args, rest, globals }) {
    const named = args.container === undefined ? [] : [args.container, ...rest];
    let format = args.format ?? "";
    if (format === "" || format === "table") format = DEFAULT_TABLE;
    return withEngine(globals, async (ctx) => {
      const targets = (): [ContainerRecord, string][] => {
        if (named.length > 0) return named.map((ref) => [ctx.records.get(ref), ref]);
        return ctx.records
          .list()
          .filter((r) => args.all || summarize(ctx, r).state.Running)
          .map((r) => [r, shortId(r.id)]);
      };
      let previous = new Map<string, StatsSample | undefined>();
      const sampleAll = (list: [ContainerRecord, string][]) => new Map(list.map(([r]) => [r.id, trySample(ctx, r)]));
      const render = (list: [ContainerRecord, string][], current: Map<string, StatsSample | undefined>) =>
        formatRows(format, list.map(([r, shown]) => statsRow(r, shown, previous.get(r.id), current.get(r.id))), STATS_HEADERS);
      if (args.noStream) {
        const list = targets();
        previous = sampleAll(list);
        await Bun.sleep(INTERVAL_MS / 2);
        writeStdout(render(list, sampleAll(list)));
        return 0;
      }
      let stop = false;
      const onSignal = () => {
        stop = true;
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        previous = sampleAll(targets());
        while (!stop) {
          await Bun.sleep(INTERVAL_MS);
          const list = targets();
          const current = sampleAll(list);
          // clear the screen and home the cursor, as docker's live table does
          writeStdout(`\x1b[2J\x1b[H${render(list, current)}`);
          previous = current;
        }
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      return 0;
    });
  },
});

