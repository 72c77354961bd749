/* linux.maskedPaths, linux.readonlyPaths (after the pivot, as runc's
   maskPath/readonlyPath) and linux.devices (before it, in the rootfs). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "runtime.h"

/* A masked file gets /dev/null bound over it; a directory an empty read-only tmpfs. */
static int
mask_path (struct child_ctx *ctx, const char *path)
{
  int fd = open (path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : child_fail (ctx, STAGE_MASKS, errno, "open the masked path ", path, " (linux.maskedPaths)", NULL);
  struct stat st;
  int ret = fstat (fd, &st) < 0 ? -errno : 0;
  if (ret == 0)
    {
      if (S_ISDIR (st.st_mode))
        ret = child_mount_on_fd ("tmpfs", fd, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
      else
        ret = child_mount_on_fd ("/dev/null", fd, NULL, MS_BIND, NULL);
    }
  close (fd);
  if (ret < 0)
    return child_fail (ctx, STAGE_MASKS, -ret, "mask ", path, " (linux.maskedPaths)", NULL);
  return 0;
}

static int
readonly_path (struct child_ctx *ctx, const char *path)
{
  int fd = open (path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : child_fail (ctx, STAGE_MASKS, errno, "open the read-only path ", path, " (linux.readonlyPaths)", NULL);
  char target[64];
  child_fd_path (target, sizeof target, fd);
  int ret = mount (target, target, NULL, MS_BIND | MS_REC, NULL) < 0 ? -errno : 0;
  close (fd);
  if (ret == 0)
    {
      /* the bind mount now covers the old fd's mount: reopen */
      fd = open (path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return child_fail (ctx, STAGE_MASKS, errno, "reopen the read-only path ", path, NULL, NULL);
      struct statvfs sv;
      unsigned long keep = 0;
      if (fstatvfs (fd, &sv) == 0)
        keep = child_mount_flags (&sv) & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
      ret = child_mount_on_fd (NULL, fd, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | keep, NULL);
      close (fd);
    }
  if (ret < 0)
    return child_fail (ctx, STAGE_MASKS, -ret, "make ", path, " read-only (linux.readonlyPaths)", NULL);
  return 0;
}

/* apply to the path of every section of the given type, up to the first failure */
static int
apply_to_each_path (struct child_ctx *ctx, uint32_t type, int (*apply) (struct child_ctx *, const char *))
{
  struct plan_iter it;
  struct plan_section_view s;
  plan_iter_init (ctx->plan, &it);
  while (plan_next (&it, type, &s))
    {
      int ret = apply (ctx, (const char *) s.payload);
      if (ret < 0)
        return ret;
    }
  return 0;
}

int
child_apply_path_rules (struct child_ctx *ctx)
{
  int ret = apply_to_each_path (ctx, PLAN_READONLY_PATH, readonly_path);
  return ret < 0 ? ret : apply_to_each_path (ctx, PLAN_MASKED_PATH, mask_path);
}

/* Where mknod is refused (a user namespace), bind the host's node of the same path, as runc. */
static int
bind_device (struct child_ctx *ctx, const char *path)
{
  int fd = child_make_in_root (ctx, path, 1, O_PATH | O_NOFOLLOW, STAGE_DEVICES);
  if (fd < 0)
    return fd;
  int ret = child_mount_on_fd (path, fd, NULL, MS_BIND, NULL);
  close (fd);
  if (ret < 0)
    return child_fail (ctx, STAGE_DEVICES, -ret, "bind mount the host's ", path, " (linux.devices)", NULL);
  return 0;
}

int
child_create_spec_devices (struct child_ctx *ctx)
{
  struct plan_iter it;
  struct plan_section_view s;
  plan_iter_init (ctx->plan, &it);
  while (plan_next (&it, PLAN_DEVICE, &s))
    {
      struct plan_device d;
      memcpy (&d, s.payload, sizeof d);
      const char *path = (const char *) s.payload + sizeof d;
      /* the parent directory, then the node in it (never through a symlink of the image) */
      const char *slash = strrchr (path, '/');
      char parent[4096];
      size_t plen = slash && slash != path ? (size_t) (slash - path) : 1;
      if (plen >= sizeof parent)
        return child_fail (ctx, STAGE_DEVICES, ENAMETOOLONG, "device path ", path, NULL, NULL);
      memcpy (parent, path, plen);
      parent[plen] = '\0';
      int dirfd = child_make_in_root (ctx, parent, 0, O_PATH | O_DIRECTORY, STAGE_DEVICES);
      if (dirfd < 0)
        return dirfd;
      const char *name = slash ? slash + 1 : path;
      unlinkat (dirfd, name, 0); /* replace what the image has there */
      if (mknodat (dirfd, name, d.mode, makedev (d.major, d.minor)) < 0)
        {
          int saved = errno;
          close (dirfd);
          if (saved != EPERM)
            return child_fail (ctx, STAGE_DEVICES, saved, "mknod ", path, " (linux.devices)", NULL);
          int ret = bind_device (ctx, path);
          if (ret < 0)
            return ret;
          continue;
        }
      if (fchownat (dirfd, name, d.uid, d.gid, AT_SYMLINK_NOFOLLOW) < 0)
        {
          int saved = errno;
          close (dirfd);
          return child_fail (ctx, STAGE_DEVICES, saved, "chown ", path, " (linux.devices uid/gid)", NULL);
        }
      close (dirfd);
    }
  return 0;
}
