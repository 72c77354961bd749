/**
 * Root filesystems for tests, built from Debian's busybox-static (no
 * internet): /bin/busybox plus a link per applet, and the few files a
 * container expects (/etc/passwd, /etc/group, empty /proc, /sys, /dev, /tmp).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const BUSYBOX = "/bin/busybox";

export const APPLETS = [
  "sh", "true", "false", "echo", "cat", "ls", "id", "hostname", "sleep", "env", "ps", "mount", "pwd", "stat",
  "touch", "mkdir", "rm", "grep", "head", "tail", "wc", "kill", "readlink", "printf", "test", "uname", "dd",
  "chmod", "chown", "ln", "cp", "mv", "find", "tr", "sed", "awk", "yes", "seq", "tty", "stty", "nproc", "ulimit",
  "whoami", "nslookup", "wget", "ip", "ifconfig", "ping", "df", "du", "date", "md5sum", "sha256sum", "tar", "vi",
] as const;

export function hasBusybox(): boolean {
  return existsSync(BUSYBOX);
}

export interface RootfsOptions {
  /** extra files: path inside the rootfs → content */
  files?: Record<string, string>;
}

/** Build a busybox root filesystem in dir and return dir. */
export function makeBusyboxRootfs(dir: string, options: RootfsOptions = {}): string {
  for (const d of ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "home", "var", "run"]) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  chmodSync(join(dir, "tmp"), 0o1777);
  copyFileSync(BUSYBOX, join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  for (const applet of APPLETS) {
    const link = join(dir, "bin", applet);
    if (!existsSync(link)) symlinkSync("busybox", link);
  }
  writeFileSync(
    join(dir, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
  );
  writeFileSync(join(dir, "etc/group"), "root:x:0:\nnogroup:x:65534:\nuser:x:1000:\nextra:x:2000:user\n");
  for (const [path, content] of Object.entries(options.files ?? {})) {
    const full = join(dir, path);
    mkdirSync(join(full, ".."), { recursive: true });
    writeFileSync(full, content);
  }
  return dir;
}
