/**
 * What the image commands share: the store under --root, the registry
 * flags, and the pull progress display.
 */
import { parsePlatform, type Descriptor, type Platform } from "../../image/manifest.ts";
import type { LayerPhase, PullProgress } from "../../image/pull.ts";
import { ImageStore } from "../../image/store.ts";
import type { FlagDef } from "../command.ts";
import { humanSize } from "../format/units.ts";

export function openStore(globals: Record<string, unknown>): ImageStore {
  return ImageStore.open(String(globals.root ?? "/var/lib/containr"));
}

/** Open the store, run fn, and close the store once fn is done, whatever happens. */
export async function withStore<T>(globals: Record<string, unknown>, fn: (store: ImageStore) => Promise<T> | T): Promise<T> {
  const store = openStore(globals);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
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
export function progressDisplay(): PullProgress & { finish(): void } {
  // process.stderr only once there is progress to show: building that stream costs start-up (src/cli/output.ts)
  const sink = () => process.stderr;
  let tty: boolean | undefined;
  const isTty = () => (tty ??= sink().isTTY === true);
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
    sink().write(buf);
  };
  return {
    resolved(reference: string, layers: Descriptor[]) {
      sink().write(`${reference}: Pulling ${layers.length} layer${layers.length === 1 ? "" : "s"}\n`);
    },
    layer(digest: string, phase: LayerPhase, current = 0, total = 0) {
      const prev = state.get(digest);
      if (!prev) order.push(digest);
      state.set(digest, { phase, current, total: total || prev?.total || 0 });
      if (isTty()) redraw(phase !== "downloading");
      else if (prev?.phase !== phase && phase !== "waiting") sink().write(`${text(digest).replace(/ \[.*$/, "")}\n`);
    },
    finish() {
      if (order.length > 0 && isTty()) redraw(true);
    },
  };
}
