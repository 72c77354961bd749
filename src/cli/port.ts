import { ContainrError } from "../diag/errors.ts";
import { observe } from "../engine/container-state.ts";
import { networkOf } from "../engine/network.ts";
import { portKey } from "../engine/network-ports.ts";
import { defineCommand } from "./command.ts";
import { withEngine } from "./container/common.ts";
import { writeStdout } from "./output.ts";

/**
 * `port CONTAINER [PRIVATE_PORT[/PROTO]]`: the running container's
 * published ports, as docker prints them: `80/tcp -> 0.0.0.0:8080` per
 * binding, or only `0.0.0.0:8080` for the port asked for (Docker's "No
 * public port" error when it has none).
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
      const published = observe(ctx, record).state.Running ? (networkOf(record.id)?.ports ?? []) : [];
      const sorted = [...published].sort((a, b) => a.containerPort - b.containerPort || a.proto.localeCompare(b.proto) || a.hostPort - b.hostPort);
      if (args.port === undefined) {
        for (const p of sorted) writeStdout(`${portKey(p.containerPort, p.proto)} -> ${p.hostIp}:${p.hostPort}\n`);
        return;
      }
      const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(args.port);
      if (m === null) throw new ContainrError("USAGE", `Invalid port: ${args.port}`, { hint: "write PORT or PORT/PROTO, e.g. 80/tcp" });
      const key = `${m[1]}/${m[2] ?? "tcp"}`;
      const matching = sorted.filter((p) => portKey(p.containerPort, p.proto) === key);
      if (matching.length === 0) {
        throw new ContainrError("USAGE", `No public port '${key}' published for ${record.name}`, {
          hint: "publish it with -p when running the container; `containr port NAME` lists what is published",
        });
      }
      for (const p of matching) writeStdout(`${p.hostIp}:${p.hostPort}\n`);
    });
  },
});
