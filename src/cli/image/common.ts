/**
 * What the image commands share: the store under --root, the registry
 * flags, Docker's size and time formats, and the pull progress display.
 */
import { ContainrError } from "../../diag/errors.ts";
import { parsePlatform, type Descriptor, type Platform } from "../../image/manifest.ts";
import type { LayerPhase, PullProgress } from "../../image/pull.ts";
import { ImageStore } from "../../image/store.ts";
import type { FlagDef } from "../command.ts";

export function openStore(globals: Record<string, unknown>): ImageStore {
  return ImageStore.open(String(globals.root ?? "/var/lib/containr"));
}

export const tlsVerifyFlag = {
  type: "boolean",
  description: "Require HTTPS with a verified certificate (loopback registries always use plain http)",
  default: true,
} as const satisfies FlagDef;

export const platformFlag = { type: "string", description: "Platform of a multi-platform image: os/arch[/variant]", valueHint: "os/arch" } as const satisfies FlagDef;

export function platformOf(value: string | undefined): Platform | undefined {
  return value === undefined ? undefined : parsePlatform(value);
}

/** Docker's human sizes: decimal units, three significant digits ("5.58MB"). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(3))}${units[unit]}`;
}

/** Docker's "2 weeks ago". */
export function timeAgo(iso: string | undefined, now = Date.now()): string {
  if (!iso) return "N/A";
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return "N/A";
  const s = Math.max(0, Math.round((now - then) / 1000));
  const steps: [number, string][] = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [7, "day"],
    [4.35, "week"],
    [12, "month"],
    [Infinity, "year"],
  ];
  if (s < 1) return "Less than a second ago";
  let value = s;
  for (const [size, name] of steps) {
    if (value < size) {
      const n = Math.floor(value);
      if (name === "second" && n < 60) return `${n} second${n === 1 ? "" : "s"} ago`;
      return n === 1 ? `${name === "hour" ? "An" : "A"} ${name} ago` : `${n} ${name}s ago`;
    }
    value /= size;
  }
  return "N/A";
}

/** Left-aligned columns separated by three spaces, as Docker's tabwriter prints them. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("   ")
      .trimEnd();
  return `${[header, ...rows].map(line).join("\n")}\n`;
}

export function requireJsonFormat(format: string | undefined): "json" | "table" {
  if (format === undefined || format === "table") return "table";
  if (format === "json" || format === "{{json .}}") return "json";
  throw new ContainrError("USAGE", `unsupported --format "${format}": containr supports "table" and "json"`);
}

const PHASE_TEXT: Record<LayerPhase, string> = {
  waiting: "Waiting",
  exists: "Already exists",
  downloading: "Downloading",
  done: "Pull complete",
};

/**
 * Per-layer progress on stderr: redrawn in place on a terminal, one plain
 * line per change of phase otherwise (logs, CI).
 */
export function progressDisplay(out: NodeJS.WriteStream = process.stderr): PullProgress & { finish(): void } {
  const tty = out.isTTY === true;
  const order: string[] = [];
  const state = new Map<string, { phase: LayerPhase; current: number; total: number }>();
  let drawn = 0;
  let lastDraw = 0;
  const short = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 12);
  const text = (digest: string) => {
    const s = state.get(digest)!;
    if (s.phase !== "downloading") return `${short(digest)}: ${PHASE_TEXT[s.phase]}`;
    const width = 30;
    const filled = s.total > 0 ? Math.min(width, Math.floor((s.current / s.total) * width)) : 0;
    return `${short(digest)}: Downloading [${"=".repeat(filled)}${filled < width ? ">" : ""}${" ".repeat(Math.max(0, width - filled - 1))}] ${humanSize(s.current)}/${humanSize(s.total)}`;
  };
  const redraw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    let buf = drawn > 0 ? `\x1b[${drawn}A` : "";
    for (const d of order) buf += `\x1b[2K${text(d)}\n`;
    drawn = order.length;
    out.write(buf);
  };
  return {
    resolved(reference: string, layers: Descriptor[]) {
      out.write(`${reference}: Pulling ${layers.length} layer${layers.length === 1 ? "" : "s"}\n`);
    },
    layer(digest: string, phase: LayerPhase, current = 0, total = 0) {
      const prev = state.get(digest);
      if (!prev) order.push(digest);
      state.set(digest, { phase, current, total: total || prev?.total || 0 });
      if (tty) redraw(phase !== "downloading");
      else if (prev?.phase !== phase && phase !== "waiting") out.write(`${text(digest).replace(/ \[.*$/, "")}\n`);
    },
    finish() {
      if (tty && order.length > 0) redraw(true);
    },
  };
}
