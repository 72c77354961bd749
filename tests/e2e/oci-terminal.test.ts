/**
 * `containr oci run` and `oci exec -t` in the foreground from a terminal,
 * without a console socket: the CLI relays its own terminal (a tmux pty
 * here) to the container's pty, whose size follows it.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, defaultSpec, oci } from "../helpers/oci.ts";
import { ociWorkspace } from "../helpers/oci-workspace.ts";

const ready = process.getuid?.() === 0 && existsSync(BINARY) && Bun.which("tmux") !== null;
const ws = ociWorkspace({ enabled: ready, dirPrefix: "containr-e2e-tty-", idPrefix: "tty", processArgs: ["/init", "tty"] });

/** argv in a tmux pty of cols × rows; its stdout and exit status. */
async function inPty(argv: string[], cols: number, rows: number): Promise<string> {
  const out = join(ws.work, `out-${Date.now()}`);
  const session = `containr-tty-${process.pid}`;
  const command = `${argv.map((a) => `'${a}'`).join(" ")} > ${out} 2>&1; echo EXIT=$? >> ${out}`;
  expect(Bun.spawnSync(["tmux", "new-session", "-d", "-s", session, "-x", String(cols), "-y", String(rows), command]).exitCode).toBe(0);
  for (let i = 0; i < 300 && !(existsSync(out) && readFileSync(out, "utf8").includes("EXIT=")); i++) await Bun.sleep(50);
  Bun.spawnSync(["tmux", "kill-session", "-t", session]);
  return readFileSync(out, "utf8");
}

describe.skipIf(!ready)("terminal in the foreground (compiled binary)", () => {
  test("run: the container's stdio is a pty of the caller's terminal's size", async () => {
    const spec = defaultSpec(["/init", "tty"]);
    spec.process!.terminal = true;
    ws.bundle.write(spec);
    const out = await inPty([BINARY, "oci", "--root", ws.root, "run", "--bundle", ws.bundle.dir, "tty-run"], 83, 21);
    expect(out).toMatch(/isatty 1 1 1 name \/dev\/pts\/\d+ size 21 83/);
    expect(out).toContain("EXIT=0");
    expect(existsSync(join(ws.root, "tty-run"))).toBe(false);
  });

  test("exec -t into a running container", async () => {
    ws.bundle.write(defaultSpec(["/init", "sleep", "60"]));
    expect((await oci(["oci", "--root", ws.root, "run", "--detach", "--bundle", ws.bundle.dir, "tty-exec"], { binary: BINARY })).status).toBe(0);
    try {
      const out = await inPty([BINARY, "oci", "--root", ws.root, "exec", "-t", "tty-exec", "/init", "tty"], 77, 19);
      expect(out).toMatch(/isatty 1 1 1 name \/dev\/pts\/\d+ size 19 77/);
      expect(out).toContain("EXIT=0");
    } finally {
      await oci(["oci", "--root", ws.root, "delete", "--force", "tty-exec"], { binary: BINARY });
    }
  });
});
