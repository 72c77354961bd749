/* The container's root filesystem: propagation, the spec's mounts in order,
   the default /dev, pivot_root (or MS_MOVE + chroot) and the read-only root.
   Modelled on runc's rootfs_linux.go and crun's linux.c. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "runtime.h"

/* Flags of a mount that an unprivileged remount must keep (the kernel
   locks them when the mount came from a more privileged namespace). */
static unsigned long
locked_flags (const char *target)
{
  struct statvfs st;
  return statvfs (target, &st) < 0 ? 0 : child_mount_flags (&st);
}

/* A bind remount that sets flags; retried with the flags the kernel locks. */
static int
remount_bind (const char *target, unsigned long flags)
{
  if (mount (NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0)
    return 0;
  if (errno != EPERM)
    return -errno;
  if (mount (NULL, target, NULL, MS_REMOUNT | MS_BIND | flags | locked_flags (target), NULL) == 0)
    return 0;
  return -errno;
}

static const char *
propagation_name (uint32_t flag)
{
  switch (flag & ~MS_REC)
    {
    case MS_PRIVATE:
      return flag & MS_REC ? "rprivate" : "private";
    case MS_SLAVE:
      return flag & MS_REC ? "rslave" : "slave";
    case MS_SHARED:
      return flag & MS_REC ? "rshared" : "shared";
    case MS_UNBINDABLE:
      return flag & MS_REC ? "runbindable" : "unbindable";
    default:
      return "propagation";
    }
}

/* Re-resolve a mount's destination: an fd opened before the mount points
   below it, so remounts and propagation changes need a fresh one. */
static int
reopen_target (struct child_ctx *ctx, const struct plan_mount *m, char *path, size_t cap)
{
  int fd = child_open_in_root (ctx, m->destination, O_PATH);
  if (fd < 0)
    return child_fail (ctx, STAGE_MOUNTS, -fd, "resolve ", m->destination, " in the rootfs", NULL);
  child_fd_path (path, cap, fd);
  return fd;
}

static int
do_one_mount (struct child_ctx *ctx, const struct plan_mount *m)
{
  char target[64];
  int as_file = 0;
  int ret;

  if (m->head.kind == PLAN_MOUNT_BIND)
    {
      struct stat st;
      if (stat (m->source, &st) < 0)
        return child_fail (ctx, STAGE_MOUNTS, errno, "bind mount ", m->source, ": stat source", NULL);
      as_file = !S_ISDIR (st.st_mode);
    }
  if (m->head.kind != PLAN_MOUNT_REMOUNT)
    {
      ret = child_mkdir_in_root (ctx, m->destination, as_file, STAGE_MOUNTS);
      if (ret < 0)
        return ret;
    }

  int fd = reopen_target (ctx, m, target, sizeof target);
  if (fd < 0)
    return fd;
  switch (m->head.kind)
    {
    case PLAN_MOUNT_FS:
      ret = mount (m->source, target, m->fstype, m->head.flags, m->data[0] ? m->data : NULL);
      ret = ret < 0 ? -errno : 0;
      break;
    case PLAN_MOUNT_BIND:
      ret = mount (m->source, target, NULL, MS_BIND | (m->head.flags & MS_REC), NULL);
      ret = ret < 0 ? -errno : 0;
      break;
    default:
      ret = remount_bind (target, m->head.flags);
      break;
    }
  close (fd);
  if (ret < 0)
    return child_fail (ctx, STAGE_MOUNTS, -ret, m->head.kind == PLAN_MOUNT_REMOUNT ? "remount " : "mount ",
                       m->head.kind == PLAN_MOUNT_REMOUNT ? "" : m->source,
                       m->head.kind == PLAN_MOUNT_REMOUNT ? m->destination : " on ",
                       m->head.kind == PLAN_MOUNT_REMOUNT ? NULL : m->destination);

  unsigned long extra = m->head.flags & ~(unsigned long) (MS_BIND | MS_REC);
  if (m->head.kind == PLAN_MOUNT_BIND && extra)
    {
      fd = reopen_target (ctx, m, target, sizeof target);
      if (fd < 0)
        return fd;
      ret = remount_bind (target, extra);
      close (fd);
      if (ret < 0)
        return child_fail (ctx, STAGE_MOUNTS, -ret, "remount ", m->destination, " with its options (ro, nosuid, ...)", NULL);
    }
  for (uint32_t i = 0; i < m->head.propagation_count; i++)
    {
      fd = reopen_target (ctx, m, target, sizeof target);
      if (fd < 0)
        return fd;
      ret = mount (NULL, target, NULL, m->head.propagation[i], NULL) < 0 ? -errno : 0;
      close (fd);
      if (ret < 0)
        return child_fail (ctx, STAGE_MOUNTS, -ret, "make ", m->destination, " ", propagation_name (m->head.propagation[i]));
    }
  return 0;
}

static int
do_pivot (struct child_ctx *ctx)
{
  int oldroot = open ("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (oldroot < 0)
    return child_fail (ctx, STAGE_PIVOT, errno, "open /", NULL, NULL, NULL);
  /* pivot_root(".", "."): the old root ends up stacked on the new one and
     is detached from the cwd, so no directory is needed in the image
     (runc, crun, LXC). */
  int ret = 0;
  if (fchdir (ctx->rootfd) < 0)
    ret = child_fail (ctx, STAGE_PIVOT, errno, "chdir to the rootfs ", ctx->plan->rootfs, NULL, NULL);
  else if (syscall (SYS_pivot_root, ".", ".") < 0)
    ret = child_fail (ctx, STAGE_PIVOT, errno, "pivot_root to ", ctx->plan->rootfs, NULL, NULL);
  else if (fchdir (oldroot) < 0)
    ret = child_fail (ctx, STAGE_PIVOT, errno, "chdir to the old root", NULL, NULL, NULL);
  /* keep the unmount from propagating to the host */
  else if (mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    ret = child_fail (ctx, STAGE_PIVOT, errno, "make the old root rslave", NULL, NULL, NULL);
  else if (umount2 (".", MNT_DETACH) < 0)
    ret = child_fail (ctx, STAGE_PIVOT, errno, "unmount the old root", NULL, NULL, NULL);
  else if (chdir ("/") < 0)
    ret = child_fail (ctx, STAGE_PIVOT, errno, "chdir to the new root", NULL, NULL, NULL);
  close (oldroot);
  return ret;
}

/* --no-pivot, for a root that cannot be pivoted (ramfs/initramfs): move the
   rootfs mount over / and chroot into it. The old root stays reachable to
   a process that can escape a chroot, so pivot_root remains the default. */
static int
do_move_root (struct child_ctx *ctx)
{
  if (fchdir (ctx->rootfd) < 0)
    return child_fail (ctx, STAGE_PIVOT, errno, "chdir to the rootfs ", ctx->plan->rootfs, NULL, NULL);
  if (mount (".", "/", NULL, MS_MOVE, NULL) < 0)
    return child_fail (ctx, STAGE_PIVOT, errno, "move the rootfs mount to /", NULL, NULL, NULL);
  if (chroot (".") < 0)
    return child_fail (ctx, STAGE_PIVOT, errno, "chroot to the rootfs", NULL, NULL, NULL);
  if (chdir ("/") < 0)
    return child_fail (ctx, STAGE_PIVOT, errno, "chdir to the new root", NULL, NULL, NULL);
  return 0;
}

int
child_setup_rootfs (struct child_ctx *ctx)
{
  const struct plan *plan = ctx->plan;
  unsigned long propagation = plan->config.root_propagation ? plan->config.root_propagation : MS_SLAVE | MS_REC;

  /* first, so that nothing mounted below leaks to the host */
  if (mount (NULL, "/", NULL, propagation, NULL) < 0)
    return child_fail (ctx, STAGE_MOUNTS, errno, "make / ", propagation_name (propagation), NULL, NULL);
  /* pivot_root needs the new root to be a mount point */
  if (mount (plan->rootfs, plan->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return child_fail (ctx, STAGE_MOUNTS, errno, "bind mount the rootfs ", plan->rootfs, NULL, NULL);
  ctx->rootfd = open (plan->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ctx->rootfd < 0)
    return child_fail (ctx, STAGE_MOUNTS, errno, "open the rootfs ", plan->rootfs, NULL, NULL);
  if (plan->exec_fifo)
    {
      /* opened now, while the host's filesystem is visible; reopened
         through /proc/self/fd after the pivot (runc's exec fifo) */
      ctx->fifofd = open (plan->exec_fifo, O_PATH | O_CLOEXEC);
      if (ctx->fifofd < 0)
        return child_fail (ctx, STAGE_EXEC_FIFO, errno, "open the exec fifo ", plan->exec_fifo, NULL, NULL);
    }

  struct plan_iter it;
  struct plan_section_view s;
  plan_iter_init (plan, &it);
  while (plan_next (&it, PLAN_MOUNT, &s))
    {
      struct plan_mount m;
      plan_read_mount (&s, &m);
      int ret = do_one_mount (ctx, &m);
      if (ret < 0)
        return ret;
    }

  /* the working directory may be missing from the image (runc creates it too) */
  int ret = child_mkdir_in_root (ctx, plan->cwd, 0, STAGE_MOUNTS);
  if (ret < 0)
    return ret;

  if (plan->config.flags & PLAN_FLAG_DEFAULT_DEVICES)
    {
      ret = child_create_devices (ctx);
      if (ret < 0)
        return ret;
    }
  ret = child_create_spec_devices (ctx);
  if (ret == 0)
    ret = child_wait_runtime_hooks (ctx);
  /* in the container's namespaces, before the pivot (runtime spec) */
  if (ret == 0)
    ret = child_run_hooks (ctx, PLAN_HOOK_CREATE_CONTAINER);
  if (ret < 0)
    return ret;

  ret = plan->config.flags & PLAN_FLAG_NO_PIVOT ? do_move_root (ctx) : do_pivot (ctx);
  close (ctx->rootfd);
  ctx->rootfd = -1;
  return ret;
}

int
child_finish_rootfs (struct child_ctx *ctx)
{
  if (!(ctx->plan->config.flags & PLAN_FLAG_READONLY_ROOT))
    return 0;
  int ret = remount_bind ("/", MS_RDONLY);
  if (ret < 0)
    return child_fail (ctx, STAGE_MOUNTS, -ret, "remount the root read-only", NULL, NULL, NULL);
  return 0;
}
