import { describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readRootfsFile, resolveInRoot, resolveUser, resolveUserFrom } from "../../src/engine/users.ts";
import { errorOf } from "../helpers/errors.ts";
import { accountsRootfs } from "../helpers/rootfs-accounts.ts";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
  "app:x:1000:1000:app:/home/app:/bin/sh",
  "# a comment",
  "broken:x:notanumber:1:::",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
].join("\n");
const GROUP = ["root:x:0:", "wheel:x:10:root,app", "app:x:1000:", "audio:x:29:app", "staff:x:50:", "nogroup:x:65534:"].join("\n");

const fixture = accountsRootfs("containr-users-", { passwd: PASSWD, group: GROUP });

describe("user resolution against the image's passwd and group", () => {
  test("no user is root, with root's supplementary groups", () => {
    expect(resolveUser(fixture.rootfs, undefined)).toEqual({ uid: 0, gid: 0, additionalGids: [0, 10], home: "/root", name: "root" });
  });

  test("a name gives its uid, primary gid, and the groups that list it", () => {
    const u = resolveUser(fixture.rootfs, "app");
    expect(u.uid).toBe(1000);
    expect(u.gid).toBe(1000);
    expect(u.additionalGids).toEqual([1000, 10, 29]);
    expect(u.home).toBe("/home/app");
  });

  test("a numeric uid uses its passwd entry when there is one", () => {
    expect(resolveUser(fixture.rootfs, "1000").additionalGids).toEqual([1000, 10, 29]);
  });

  test("a numeric uid needs no passwd entry", () => {
    expect(resolveUser(fixture.rootfs, "4242")).toEqual({ uid: 4242, gid: 0, additionalGids: [0], home: "/" });
    expect(resolveUser(fixture.rootfs, "4242:4343")).toEqual({ uid: 4242, gid: 4343, additionalGids: [4343], home: "/" });
  });

  test("user:group takes the group as gid and drops supplementary groups", () => {
    expect(resolveUser(fixture.rootfs, "app:staff")).toMatchObject({ uid: 1000, gid: 50, additionalGids: [50] });
    expect(resolveUser(fixture.rootfs, "app:29")).toMatchObject({ uid: 1000, gid: 29, additionalGids: [29] });
    expect(resolveUser(fixture.rootfs, "daemon:777")).toMatchObject({ uid: 1, gid: 777, additionalGids: [777] });
  });

  test("a missing user or group is an error worded as Docker's", () => {
    const e = errorOf(() => resolveUser(fixture.rootfs, "x"));
    expect(e.message).toBe("unable to find user x: no matching entries in passwd file");
    expect(e.code).toBe("USAGE");
    expect(e.exit).toBe(125);
    expect(errorOf(() => resolveUser(fixture.rootfs, "app:nogrp")).message).toBe("unable to find group nogrp: no matching entries in group file");
    expect(errorOf(() => resolveUser(fixture.rootfs, "broken")).message).toBe("unable to find user broken: no matching entries in passwd file");
  });

  test("ids above 2^31-1 are refused", () => {
    expect(errorOf(() => resolveUser(fixture.rootfs, "2147483648")).message).toBe("uids and gids must be in range 0-2147483647");
  });

  test("an image without /etc/passwd still runs numeric users and root", () => {
    expect(resolveUserFrom(undefined, undefined, undefined)).toEqual({ uid: 0, gid: 0, additionalGids: [0], home: "/" });
    expect(resolveUserFrom("12:34", undefined, undefined)).toMatchObject({ uid: 12, gid: 34 });
    expect(errorOf(() => resolveUserFrom("app", undefined, undefined)).message).toBe(
      "unable to find user app: no matching entries in passwd file",
    );
  });
});

describe("reading the rootfs without leaving it", () => {
  test("a symlinked /etc/passwd pointing outside the rootfs is resolved inside it, not on the host", () => {
    const dir = join(fixture.base, "evil");
    mkdirSync(join(dir, "etc"), { recursive: true });
    // The host file the link names: it must never be read.
    const hostFile = join(fixture.base, "host-passwd");
    writeFileSync(hostFile, "evil:x:0:0::/:/bin/sh\n");
    symlinkSync(hostFile, join(dir, "etc/passwd"));
    symlinkSync("../../../../../../../../etc/shadow-not-here", join(dir, "etc/group"));
    expect(readRootfsFile(dir, "/etc/passwd")).toBeUndefined();
    expect(readRootfsFile(dir, "/etc/group")).toBeUndefined();
    expect(errorOf(() => resolveUser(dir, "evil")).message).toBe("unable to find user evil: no matching entries in passwd file");
  });

  test("absolute and relative links inside the rootfs are followed within it", () => {
    const dir = join(fixture.base, "links");
    mkdirSync(join(dir, "etc"), { recursive: true });
    mkdirSync(join(dir, "usr/share"), { recursive: true });
    writeFileSync(join(dir, "usr/share/passwd"), "svc:x:77:88::/srv:/bin/sh\n");
    symlinkSync("/usr/share/passwd", join(dir, "etc/passwd"));
    symlinkSync("../usr/share/passwd", join(dir, "etc/passwd2"));
    symlinkSync("/", join(dir, "rootlink"));
    expect(resolveInRoot(dir, "/etc/passwd")).toBe(join(dir, "usr/share/passwd"));
    expect(resolveInRoot(dir, "/rootlink/../../etc/passwd2")).toBe(join(dir, "usr/share/passwd"));
    expect(resolveUser(dir, "svc")).toMatchObject({ uid: 77, gid: 88, home: "/srv" });
  });

  test("a symlink loop is an error, not a hang", () => {
    const dir = join(fixture.base, "loop");
    mkdirSync(join(dir, "etc"), { recursive: true });
    symlinkSync("/etc/passwd", join(dir, "etc/passwd"));
    expect(errorOf(() => readRootfsFile(dir, "/etc/passwd")).code).toBe("UNSAFE_PATH");
  });

  test("a directory or a fifo in place of the file is refused", () => {
    const dir = join(fixture.base, "special");
    mkdirSync(join(dir, "etc/passwd"), { recursive: true });
    expect(errorOf(() => readRootfsFile(dir, "/etc/passwd")).code).toBe("UNSAFE_PATH");
    Bun.spawnSync(["mkfifo", join(dir, "etc/group")]);
    expect(errorOf(() => readRootfsFile(dir, "/etc/group")).code).toBe("UNSAFE_PATH");
  });
});
