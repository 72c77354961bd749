import { ContainrError } from "../diag/errors.ts";
import { importRootfs } from "../image/import.ts";
import { defineCommand } from "./command.ts";
import { withStore } from "./image/common.ts";
import { writeStdout } from "./output.ts";

/** The tarball's bytes: a file, an http(s) URL, or "-" for stdin. */
async function openSource(source: string): Promise<AsyncIterable<Uint8Array>> {
  if (source === "-") return Bun.stdin.stream() as unknown as AsyncIterable<Uint8Array>;
  if (/^https?:\/\//.test(source)) {
    let res: Response;
    try {
      res = await fetch(source);
    } catch (err) {
      throw new ContainrError("REGISTRY_UNREACHABLE", `import: cannot fetch ${source}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (!res.ok || !res.body) throw new ContainrError("REGISTRY_UNREACHABLE", `import: ${source} answered ${res.status} ${res.statusText}`);
    return res.body as unknown as AsyncIterable<Uint8Array>;
  }
  const file = Bun.file(source);
  if (!(await file.exists())) throw new ContainrError("CONFIG_NOT_FOUND", `import: ${source}: no such file`);
  return file.stream() as unknown as AsyncIterable<Uint8Array>;
}

export default defineCommand({
  meta: { name: "import", description: "Create an image from a root filesystem tarball (file, URL or - for stdin)" },
  args: {
    source: { type: "positional", description: "file|URL|-", required: true },
    reference: { type: "positional", description: "REPOSITORY[:TAG]" },
    change: { type: "string", alias: "c", multiple: true, description: "Dockerfile instruction to apply: CMD, ENTRYPOINT, ENV, WORKDIR, USER, ...", valueHint: "instruction" },
    message: { type: "string", alias: "m", description: "Commit message for the image's history", valueHint: "text" },
  },
  async run({ args, globals }) {
    await withStore(globals, async (store) => {
      const image = await importRootfs(store, await openSource(args.source), {
        reference: args.reference,
        changes: args.change,
        message: args.message,
      });
      writeStdout(`${image.id}\n`);
    });
  },
});
