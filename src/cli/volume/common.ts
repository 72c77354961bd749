/** What the volume commands share: the store opened with the engine, and prune's confirmation. */
import type { EngineContext } from "../../engine/context.ts";
import { VolumeStore } from "../../engine/volumes.ts";
import { withEngine } from "../container/common.ts";
import { writeStdout } from "../output.ts";

export function withVolumeStore<T>(globals: Record<string, unknown>, fn: (volumes: VolumeStore, ctx: EngineContext) => Promise<T> | T): Promise<T> {
  return withEngine(globals, async (ctx) => {
    const volumes = VolumeStore.open(ctx.dataRoot);
    try {
      return await fn(volumes, ctx);
    } finally {
      volumes.close();
    }
  });
}

/** docker/cli's PromptForConfirmation: the question on stdout, "y" or "Y" on stdin goes ahead. */
export async function confirm(question: string): Promise<boolean> {
  writeStdout(`${question}\nAre you sure you want to continue? [y/N] `);
  const reader = Bun.stdin.stream().getReader();
  let line = "";
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    line += decoder.decode(value, { stream: true });
    if (line.includes("\n")) break;
  }
  reader.releaseLock();
  const answer = line.split("\n")[0]?.trim().toLowerCase() ?? "";
  return answer === "y" || answer === "yes";
}
