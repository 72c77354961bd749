/**
 * `export`: a container's filesystem as one tar archive, as Docker's: the
 * merged view of its image's layers and its writable layer (the overlay on
 * the host), without the contents of its volumes and bind mounts, which are
 * mounted only in the container's own mount namespace. A stopped container's
 * root filesystem is mounted for the export and unmounted afterwards.
 */
import { TarWriter } from "../image/tar.ts";
import { containerPaths, type EngineContext } from "./context.ts";
import type { ContainerRecord } from "./records.ts";
import { ensureRootfs } from "./start.ts";
import { isMountPoint, unmountRootfs } from "./teardown.ts";

export async function* exportContainer(ctx: EngineContext, record: ContainerRecord): AsyncGenerator<Uint8Array> {
  const { rootfs } = containerPaths(ctx, record.id);
  const mountedHere = !isMountPoint(rootfs);
  ensureRootfs(ctx, record);
  const writer = new TarWriter();
  // filled while the consumer reads: the writer waits for it (backpressure)
  const filling = writer.addTree(rootfs).then(
    () => writer.close(),
    (err) => writer.abort(err),
  );
  try {
    for await (const chunk of writer.stream) yield chunk;
    await filling;
  } finally {
    if (mountedHere) unmountRootfs(ctx, record.id);
  }
}
