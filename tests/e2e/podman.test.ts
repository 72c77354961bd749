/**
 * Podman drives the compiled binary through a link named containr-oci
 * (--runtime): run --rm, run -d + exec + stop + rm, and run -it / exec -it
 * through a pty (tmux). Podman's storage and run directories are private to
 * the test; its configuration comes from CONTAINERS_CONF (this host's hard
 * RLIMIT_NOFILE is below podman's default ulimits; DESIGN.md). Without
 * podman the tests skip with a line saying so.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, removeAll, tempDir } from "../helpers/oci.ts";

const podman = Bun.which("podman");
const tmux = Bun.which("tmux");
const ready = process.getuid?.() === 0 && existsSync(BINARY) && podman !== null;
if (!ready) console.log(`skip: podman tests need root, ${BINARY} and podman (found: ${podman ?? "no podman"})`);

let work: string;
let env: Record<string, string>;
let base: string[];
const IMAGE = "localhost/containr-busybox:test";

async function run(args: string[], timeoutMs = 60_000) {
  const proc = Bun.spawn([...base, ...args], { env, stdout: "pipe", stderr: "pipe", stdin: "ignore", timeout: timeoutMs });
  const [stdout, stderr, status] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, status };
}

beforeAll(async () => {
  if (!ready) return;
  work = tempDir("containr-podman-");
  const link = join(work, "containr-oci");
  symlinkSync(BINARY, link);
  writeFileSync(
    join(work, "containers.conf"),
    '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n',
  );
  env = { PATH: process.env.PATH ?? "/usr/bin:/bin", CONTAINERS_CONF: join(work, "containers.conf"), HOME: work };
  base = [podman!, "--root", join(work, "storage"), "--runroot", join(work, "run"), "--runtime", link, "--cgroup-manager=cgroupfs"];
  // a one-layer image: static busybox and its links
  const rootfs = join(work, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  chmodSync(join(rootfs, "bin/busybox"), 0o755);
  for (const name of ["sh", "echo", "sleep", "cat", "stty", "tty", "grep"]) symlinkSync("busybox", join(rootfs, "bin", name));
  const tar = join(work, "rootfs.tar");
  expect(Bun.spawnSync(["tar", "-C", rootfs, "-cf", tar, "."]).exitCode).toBe(0);
  const imported = await run(["import", tar, IMAGE]);
  if (imported.status !== 0) throw new Error(`podman import: ${imported.stderr}`);
});

afterAll(async () => {
  if (!work) return;
  await run(["rm", "--all", "--force", "--time", "0"]);
  Bun.spawnSync([...base, "system", "reset", "--force"], { env });
  removeAll(work);
});

/** Run a podman command line in a tmux pty of the given size; its output once it exits. */
async function inPty(args: string[], cols: number, rows: number): Promise<string> {
  const out = join(work, `pty-${Date.now()}.out`);
  const session = `containr-podman-${process.pid}`;
  const command = [...base, ...args].map((a) => `'${a}'`).join(" ");
  const started = Bun.spawnSync(["tmux", "new-session", "-d", "-s", session, "-x", String(cols), "-y", String(rows), `${command} > ${out} 2>&1; echo EXIT=$? >> ${out}`], { env: { ...env, TERM: "xterm" } });
  expect(started.exitCode).toBe(0);
  for (let i = 0; i < 300 && !(existsSync(out) && readFileSync(out, "utf8").includes("EXIT=")); i++) await Bun.sleep(50);
  Bun.spawnSync(["tmux", "kill-session", "-t", session]);
  return readFileSync(out, "utf8");
}

describe.skipIf(!ready)("podman --runtime containr-oci", () => {
  test("run --rm", async () => {
    const r = await run(["run", "--rm", "--network", "none", IMAGE, "echo", "hi"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hi\n");
    expect(r.status).toBe(0);
  });

  test("run -d, exec, stop, rm", async () => {
    const started = await run(["run", "-d", "--name", "c1", "--network", "none", IMAGE, "sleep", "300"]);
    expect(started.status).toBe(0);
    const exec = await run(["exec", "c1", "cat", "/proc/1/cmdline"]);
    expect(exec.stdout).toBe("sleep\x00300\x00");
    expect((await run(["exec", "c1", "sh", "-c", "exit 5"])).status).toBe(5);
    expect((await run(["stop", "--time", "1", "c1"])).status).toBe(0);
    const inspect = await run(["inspect", "--format", "{{.State.Status}}", "c1"]);
    expect(inspect.stdout.trim()).toBe("exited");
    expect((await run(["rm", "c1"])).status).toBe(0);
    expect((await run(["ps", "-a", "--format", "{{.Names}}"])).stdout).not.toContain("c1");
  });

  test.skipIf(tmux === null)("run -it and exec -it through a pty", async () => {
    const it = await inPty(["run", "-it", "--rm", "--network", "none", IMAGE, "sh", "-c", "stty size; tty"], 91, 27);
    expect(it).toContain("27 91");
    expect(it).toMatch(/\/dev\/pts\/\d+/);
    expect(it).toContain("EXIT=0");
    expect((await run(["run", "-d", "--name", "c2", "--network", "none", IMAGE, "sleep", "300"])).status).toBe(0);
    const exec = await inPty(["exec", "-it", "c2", "sh", "-c", "stty size; tty"], 100, 30);
    expect(exec).toContain("30 100");
    expect(exec).toContain("EXIT=0");
    expect((await run(["rm", "--force", "--time", "0", "c2"])).status).toBe(0);
  });
});
