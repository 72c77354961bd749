/* Helpers for the cloned child: failure records, messages to the parent,
   bounded strings, and paths resolved inside the rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "runtime.h"

void
sb_init (struct strbuf *sb, char *buf, size_t cap)
{
  sb->buf = buf;
  sb->cap = cap;
  sb->len = 0;
  buf[0] = '\0';
}

void
sb_add (struct strbuf *sb, const char *s)
{
  if (s == NULL)
    return;
  while (*s && sb->len + 1 < sb->cap)
    sb->buf[sb->len++] = *s++;
  sb->buf[sb->len] = '\0';
  if (*s)
    sb->len = sb->cap; /* mark as truncated */
}

void
sb_num (struct strbuf *sb, long long n)
{
  char digits[24];
  int i = sizeof digits - 1;
  unsigned long long u = n < 0 ? -(unsigned long long) n : (unsigned long long) n;
  digits[i] = '\0';
  do
    digits[--i] = '0' + u % 10;
  while ((u /= 10) && i > 1);
  if (n < 0)
    digits[--i] = '-';
  sb_add (sb, digits + i);
}

int
sb_full (const struct strbuf *sb)
{
  return sb->len >= sb->cap;
}

int
child_fail (struct child_ctx *ctx, uint32_t stage, int err, const char *a, const char *b, const char *c, const char *d)
{
  struct strbuf sb;
  sb_init (&sb, ctx->text, sizeof ctx->text);
  sb_add (&sb, a);
  sb_add (&sb, b);
  sb_add (&sb, c);
  sb_add (&sb, d);
  ctx->stage = stage;
  ctx->err = err;
  return -err;
}

void
child_debug (struct child_ctx *ctx, const char *a, const char *b, const char *c)
{
  char text[SYNC_TEXT_MAX];
  struct strbuf sb;
  sb_init (&sb, text, sizeof text);
  sb_add (&sb, a);
  sb_add (&sb, b);
  sb_add (&sb, c);
  sync_send (ctx->sock, SYNC_DEBUG, 0, 0, 0, text);
}

void
child_warn (struct child_ctx *ctx, const char *text)
{
  sync_send (ctx->sock, SYNC_WARNING, 0, 0, 0, text);
}

int
child_ask_parent (struct child_ctx *ctx, uint32_t stage, uint32_t ask, uint32_t reply, const char *what)
{
  if (sync_send (ctx->sock, ask, 0, stage, getpid (), NULL) < 0)
    return child_fail (ctx, stage, EPIPE, "ask the parent for ", what, NULL, NULL);
  struct sync_msg msg;
  int ret = sync_recv (ctx->sock, &msg, -1);
  if (ret <= 0)
    return child_fail (ctx, stage, ret == 0 ? EPIPE : -ret, "wait for ", what, " from the parent", NULL);
  if (msg.type != reply)
    return child_fail (ctx, stage, EPROTO, "unexpected message from the parent while waiting for ", what, NULL, NULL);
  return 0;
}

unsigned long
child_mount_flags (const struct statvfs *st)
{
  static const struct
  {
    unsigned long st, ms;
  } map[] = {
    { ST_NOSUID, MS_NOSUID },   { ST_NODEV, MS_NODEV },           { ST_NOEXEC, MS_NOEXEC },     { ST_RDONLY, MS_RDONLY },
    { ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
  };
  unsigned long flags = 0;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (st->f_flag & map[i].st)
      flags |= map[i].ms;
  return flags;
}

int
child_mount_on_fd (const char *source, int fd, const char *fstype, unsigned long flags, const void *data)
{
  char target[64];
  child_fd_path (target, sizeof target, fd);
  return mount (source, target, fstype, flags, data) < 0 ? -errno : 0;
}

void
child_fd_path (char *buf, size_t cap, int fd)
{
  struct strbuf sb;
  sb_init (&sb, buf, cap);
  sb_add (&sb, "/proc/self/fd/");
  sb_num (&sb, fd);
}

static int
openat2_in_root (int rootfd, const char *path, int flags)
{
  struct open_how how = { .flags = flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  while (*path == '/')
    path++;
  if (*path == '\0')
    path = ".";
  int fd = syscall (SYS_openat2, rootfd, path, &how, sizeof how);
  return fd < 0 ? -errno : fd;
}

int
child_open_in_root (struct child_ctx *ctx, const char *path, int flags)
{
  return openat2_in_root (ctx->rootfd, path, flags);
}

int
child_make_in_root (struct child_ctx *ctx, const char *path, int as_file, int flags, uint32_t stage)
{
  int ret = child_mkdir_in_root (ctx, path, as_file, stage);
  if (ret < 0)
    return ret;
  int fd = child_open_in_root (ctx, path, flags);
  return fd < 0 ? child_fail (ctx, stage, -fd, "open ", path, " in the rootfs", NULL) : fd;
}

int
child_mkdir_in_root (struct child_ctx *ctx, const char *path, int as_file, uint32_t stage)
{
  int fd = openat2_in_root (ctx->rootfd, path, O_PATH);
  if (fd >= 0)
    return close (fd), 0;
  if (fd != -ENOENT)
    return child_fail (ctx, stage, -fd, "resolve ", path, " in the rootfs", NULL);

  char buf[PATH_MAX];
  size_t n = strlen (path);
  if (n >= sizeof buf)
    return child_fail (ctx, stage, ENAMETOOLONG, "mkdir ", path, NULL, NULL);
  memcpy (buf, path, n + 1);

  size_t start = 0;
  while (buf[start] == '/')
    start++;
  while (buf[start] != '\0')
    {
      size_t end = start;
      while (buf[end] != '\0' && buf[end] != '/')
        end++;
      char saved = buf[end];
      int last = saved == '\0';
      buf[end] = '\0';
      fd = openat2_in_root (ctx->rootfd, buf, O_PATH);
      if (fd >= 0)
        close (fd);
      else if (fd == -ENOENT)
        {
          /* create the component in its (already resolved) parent */
          char parent_saved = start > 0 ? buf[start - 1] : 0;
          if (start > 0)
            buf[start - 1] = '\0';
          int parent = openat2_in_root (ctx->rootfd, start > 0 ? buf : "/", O_PATH | O_DIRECTORY);
          if (start > 0)
            buf[start - 1] = parent_saved;
          if (parent < 0)
            return child_fail (ctx, stage, -parent, "open the parent of ", buf, " in the rootfs", NULL);
          int r;
          if (last && as_file)
            {
              r = openat (parent, buf + start, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
              if (r >= 0)
                close (r), r = 0;
            }
          else
            r = mkdirat (parent, buf + start, 0755);
          int saved_errno = errno;
          close (parent);
          if (r < 0 && saved_errno != EEXIST)
            return child_fail (ctx, stage, saved_errno, last && as_file ? "create " : "mkdir ", buf, " in the rootfs", NULL);
          fd = openat2_in_root (ctx->rootfd, buf, O_PATH);
          if (fd < 0)
            return child_fail (ctx, stage, -fd, "resolve ", buf, " in the rootfs", NULL);
          close (fd);
        }
      else
        return child_fail (ctx, stage, -fd, "resolve ", buf, " in the rootfs", NULL);
      buf[end] = saved;
      if (last)
        break;
      start = end;
      while (buf[start] == '/')
        start++;
    }
  return 0;
}
