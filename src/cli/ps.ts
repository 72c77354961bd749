import { ContainrError } from "../diag/errors.ts";
import { shortId } from "../engine/ids.ts";
import { summarize, type ContainerSummary } from "../engine/inspect.ts";
import { exposedPorts, networkOf, usesBridge } from "../engine/network.ts";
import { formatPortsColumn } from "../engine/network-ports.ts";
import type { ContainerRecord } from "../engine/records.ts";
import { defineCommand } from "./command.ts";
import { tableFormatFlag } from "./format/flags.ts";
import { withEngine } from "./container/common.ts";
import { dockerContext, formatRows } from "./format/template.ts";
import { containerStatus, createdAgo } from "./format/units.ts";
import { groupFilters } from "../engine/filters.ts";
import { writeStdout } from "./output.ts";

/** docker/cli's container formats (cli/command/formatter/container.go). */
const DEFAULT_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
const QUIET_FORMAT = "{{.ID}}";

export const CONTAINER_HEADERS = {
  ID: "CONTAINER ID",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedAt: "CREATED AT",
  RunningFor: "CREATED",
  Status: "STATUS",
  Ports: "PORTS",
  Names: "NAMES",
  State: "STATE",
  Labels: "LABELS",
  Size: "SIZE",
  Mounts: "MOUNTS",
  Networks: "NETWORKS",
  LocalVolumes: "LOCAL VOLUMES",
};

/** The fields docker's containerContext offers, in its JSON's (sorted) order. */
export interface ContainerRow {
  Command: string;
  CreatedAt: string;
  ID: string;
  Image: string;
  Labels: string;
  LocalVolumes: string;
  Mounts: string;
  Names: string;
  Networks: string;
  Ports: string;
  RunningFor: string;
  Size: string;
  State: string;
  Status: string;
}

/** docker's PORTS column: the running container's published ports, then its exposed ones. */
function portsColumn(record: ContainerRecord, running: boolean): string {
  if (!running) return "";
  return formatPortsColumn(exposedPorts(record), usesBridge(record) ? (networkOf(record.id)?.ports ?? []) : []);
}

/** docker's Command column: the command quoted, cut at 20 characters with "…" unless --no-trunc. */
function commandColumn(command: string[], noTrunc: boolean): string {
  let text = command.join(" ");
  if (!noTrunc && [...text].length > 20) text = `${[...text].slice(0, 19).join("")}…`;
  return JSON.stringify(text);
}

/** Built once: an Intl.DateTimeFormat costs about a millisecond. */
let zoneNames: Intl.DateTimeFormat | undefined;

function createdAt(created: string): string {
  const d = new Date(created);
  const pad = (n: number) => String(n).padStart(2, "0");
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  zoneNames ??= new Intl.DateTimeFormat("en-US", { timeZoneName: "short" });
  const zone = zoneNames.formatToParts(d).find((p) => p.type === "timeZoneName")?.value ?? "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.trunc(abs / 60))}${pad(abs % 60)} ${zone === "GMT" ? "UTC" : zone}`;
}

export function containerRow(summary: ContainerSummary, noTrunc: boolean): ContainerRow {
  const { record, state } = summary;
  return dockerContext({
    Command: commandColumn(record.command, noTrunc),
    // computed when a template or --format json reads it: the time zone's look-up is the slowest part of a row
    get CreatedAt() {
      return createdAt(record.created);
    },
    ID: noTrunc ? record.id : shortId(record.id),
    Image: record.image,
    Labels: Object.entries(record.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(","),
    LocalVolumes: "0",
    Mounts: "",
    Names: record.name,
    Networks: (record.hostConfig as { NetworkMode?: string }).NetworkMode ?? "",
    Ports: portsColumn(record, state.Running),
    RunningFor: createdAgo(record.created),
    Size: "0B",
    State: state.Status,
    Status: containerStatus({
      running: state.Running,
      paused: state.Paused,
      restarting: state.Restarting,
      exitCode: state.ExitCode,
      startedAt: state.StartedAt,
      finishedAt: state.FinishedAt,
    }),
  });
}

type Filter = (s: ContainerSummary) => boolean;

const STATUSES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];

/** --filter key=value; several values of one key are ORed, different keys ANDed (as dockerd). */
export function parseFilters(values: readonly string[]): Filter {
  const byKey = groupFilters(values, "status=running");
  const tests: Filter[] = [];
  for (const [key, wanted] of byKey) {
    switch (key) {
      case "status":
        for (const w of wanted) {
          if (!STATUSES.includes(w)) {
            throw new ContainrError("USAGE", `invalid filter 'status=${w}'`, { hint: `status is one of ${STATUSES.join(", ")}` });
          }
        }
        tests.push((s) => wanted.includes(s.state.Status));
        break;
      case "name":
        tests.push((s) => wanted.some((w) => new RegExp(w).test(s.record.name)));
        break;
      case "id":
        tests.push((s) => wanted.some((w) => s.record.id.startsWith(w)));
        break;
      case "label":
        tests.push((s) =>
          wanted.every((w) => {
            const eq = w.indexOf("=");
            if (eq < 0) return Object.hasOwn(s.record.labels, w);
            return s.record.labels[w.slice(0, eq)] === w.slice(eq + 1);
          }),
        );
        break;
      case "ancestor":
        tests.push((s) => wanted.some((w) => s.record.image === w || s.record.imageId === w || s.record.imageId.replace(/^sha256:/, "").startsWith(w.replace(/^sha256:/, ""))));
        break;
      case "exited":
        tests.push((s) => s.state.Status === "exited" && wanted.includes(String(s.state.ExitCode)));
        break;
      default:
        throw new ContainrError("USAGE", `invalid filter '${key}'`, { hint: "supported: status, name, id, label, ancestor, exited" });
    }
  }
  return (s) => tests.every((t) => t(s));
}

export default defineCommand({
  meta: { name: "ps", description: "List containers" },
  args: {
    all: { type: "boolean", alias: "a", description: "Show all containers (default shows just running)" },
    quiet: { type: "boolean", alias: "q", description: "Only display container IDs" },
    last: { type: "string", alias: "n", description: "Show n last created containers (includes all states)", valueHint: "int" },
    latest: { type: "boolean", alias: "l", description: "Show the latest created container (includes all states)" },
    noTrunc: { type: "boolean", description: "Don't truncate output" },
    filter: { type: "string", alias: "f", multiple: true, description: "Filter output based on conditions provided", valueHint: "filter" },
    format: tableFormatFlag(),
  },
  run({ args, globals }) {
    let last = -1;
    if (args.last !== undefined) {
      if (!/^-?\d+$/.test(args.last)) throw new ContainrError("USAGE", `invalid argument "${args.last}" for "-n, --last" flag: strconv.ParseInt: parsing "${args.last}": invalid syntax`);
      last = Number(args.last);
    }
    if (args.latest) last = 1;
    const filter = parseFilters(args.filter as string[]);
    return withEngine(globals, (ctx) => {
      let records = ctx.records.list();
      const all = args.all || last > 0 || (args.filter as string[]).some((f) => f.startsWith("status="));
      if (last > 0) records = records.slice(0, last);
      const rows = records
        .map((record) => summarize(ctx, record))
        // without -a, Docker lists every container whose processes exist: running, restarting or paused
        .filter((s) => (all || s.state.Running) && filter(s))
        .map((s) => containerRow(s, args.noTrunc));
      // -q wins over a table format, as docker/cli's NewContainerFormat
      let format = args.format ?? "";
      if (args.quiet && (format === "" || format.startsWith("table"))) format = QUIET_FORMAT;
      else if (format === "" || format === "table") format = DEFAULT_TABLE;
      writeStdout(formatRows(format, rows, CONTAINER_HEADERS));
    });
  },
});
