import { ContainrError } from "../diag/errors.ts";
import { defineCommand } from "./command.ts";
import { withEngine } from "./container/common.ts";

/**
 * `port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports.
 * containr has no port publishing until it has networking, so the list is
 * empty, and asking for one port is Docker's "no public port" error.
 */
export default defineCommand({
  meta: { name: "port", description: "List port mappings or a specific mapping for the container" },
  args: {
    container: { type: "positional", description: "CONTAINER", required: true },
    port: { type: "positional", description: "PRIVATE_PORT[/PROTO]" },
  },
  run({ args, globals }) {
    return withEngine(globals, (ctx) => {
      const record = ctx.records.get(args.container);
      if (args.port === undefined) return;
      const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(args.port);
      if (m === null) throw new ContainrError("USAGE", `Invalid port: ${args.port}`, { hint: "write PORT or PORT/PROTO, e.g. 80/tcp" });
      throw new ContainrError("USAGE", `No public port '${m[1]}/${m[2] ?? "tcp"}' published for ${record.name}`, {
        hint: "containr does not publish ports yet (no bridge networking); use --network host",
      });
    });
  },
});
