#ifndef CONTAINR_RUNTIME_H
#define CONTAINR_RUNTIME_H
/*
 * The container's first process, between its clone and execve. It is
 * cloned by containr-init (csrc/bin/containr-init/), a small static,
 * single-threaded helper; it still keeps to raw system calls, stack and
 * static buffers (no malloc or stdio), so that a failure is always
 * reported the same way. Every step returns 0 or a
 * negative errno after recording what failed in the child_ctx; child_main
 * sends that to the parent as ERROR{stage, errno, text} and exits.
 */
#include <stddef.h>
#include <stdint.h>
#include "plan.h"
#include "sync.h"

struct child_ctx
{
  const struct plan *plan;
  int sock;
  int rootfd;   /* O_PATH of the rootfs on the host, until the pivot */
  int fifofd;   /* O_PATH of the exec fifo, or -1 */
  int err;      /* the failure being reported */
  uint32_t stage;
  char text[SYNC_TEXT_MAX];
};

/* Record a failure: text is the concatenation of the non-NULL parts. Returns -err. */
int child_fail (struct child_ctx *ctx, uint32_t stage, int err, const char *a, const char *b, const char *c, const char *d);
void child_debug (struct child_ctx *ctx, const char *a, const char *b, const char *c);
void child_warn (struct child_ctx *ctx, const char *text);
/* Send ask to the parent and wait for its reply (sync.h's handshakes);
   `what` names what is asked for ("the cgroup"). The message's value is the
   asker's pid: the parent writes a new user namespace's maps for it, and
   need not have started it (the engine's monitor starts containr-init).
   0, or child_fail's -err. */
int child_ask_parent (struct child_ctx *ctx, uint32_t stage, uint32_t ask, uint32_t reply, const char *what);

/* Bounded string building into a fixed buffer (always NUL-terminated). */
struct strbuf
{
  char *buf;
  size_t cap;
  size_t len;
};
void sb_init (struct strbuf *sb, char *buf, size_t cap);
void sb_add (struct strbuf *sb, const char *s);
void sb_num (struct strbuf *sb, long long n);
int sb_full (const struct strbuf *sb);

/* Paths inside the rootfs, resolved with openat2(RESOLVE_IN_ROOT) so that no
   symlink in the image can lead outside it. */
int child_open_in_root (struct child_ctx *ctx, const char *path, int flags);
/* mkdir -p of path (or of its parent and an empty file when as_file), inside the rootfs. */
int child_mkdir_in_root (struct child_ctx *ctx, const char *path, int as_file, uint32_t stage);
/* child_mkdir_in_root, then open what it made with flags: the fd, or child_fail's -err. */
int child_make_in_root (struct child_ctx *ctx, const char *path, int as_file, int flags, uint32_t stage);
/* "/proc/self/fd/N" for an fd. */
void child_fd_path (char *buf, size_t cap, int fd);
struct statvfs;
/* The MS_ flags (nosuid, nodev, noexec, rdonly, atime) of a mount, from its statvfs. */
unsigned long child_mount_flags (const struct statvfs *st);
/* mount(2) onto what the O_PATH fd is (through its /proc/self/fd path, so no
   symlink is followed on the way): 0 or -errno. */
int child_mount_on_fd (const char *source, int fd, const char *fstype, unsigned long flags, const void *data);

int child_setup_rootfs (struct child_ctx *ctx);          /* child-mounts.c: propagation, mounts, /dev, pivot */
int child_finish_rootfs (struct child_ctx *ctx);         /* child-mounts.c: read-only root after the pivot */
int child_create_devices (struct child_ctx *ctx);        /* child-devices.c */
int child_setup_process (struct child_ctx *ctx);         /* child-process.c: hostname, sysctl, rlimits, oom */
int child_set_user (struct child_ctx *ctx);              /* child-process.c: groups, gid, uid, umask, cwd */
int child_find_executable (struct child_ctx *ctx, char *out, size_t cap);
int child_wait_exec_fifo (struct child_ctx *ctx);
int child_exec (struct child_ctx *ctx, const char *path);
int child_place_preserved_fds (struct child_ctx *ctx);    /* --preserve-fds, just before execve */

/* child-security.c */
int child_join_keyring (struct child_ctx *ctx);           /* the session keyring (PLAN_KEYRING) */
int child_set_no_new_privs (struct child_ctx *ctx);
int child_load_seccomp (struct child_ctx *ctx, int late); /* late=0: before the caps (no NNP); late=1: before execve (NNP) */
int child_drop_bounding (struct child_ctx *ctx);          /* bounding set and keepcaps, before the uid switch */
int child_apply_caps (struct child_ctx *ctx);             /* effective/permitted/inheritable and ambient, after it */
/* child-paths.c */
int child_apply_path_rules (struct child_ctx *ctx);       /* readonlyPaths, then maskedPaths (after the pivot) */
int child_create_spec_devices (struct child_ctx *ctx);    /* linux.devices (before the pivot) */
/* child-tty.c */
int child_connect_console (struct child_ctx *ctx);        /* before any namespace is joined: the path is the caller's */
int child_setup_terminal (struct child_ctx *ctx, int mount_console);
/* child-hooks.c */
int child_wait_runtime_hooks (struct child_ctx *ctx);     /* CHILD_HOOKS, then HOOKS_DONE from the parent */
int child_run_hooks (struct child_ctx *ctx, uint32_t kind);

/* child-main.c: the init's entry after containr-init cloned it, with the
   sync socket; never returns. */
__attribute__ ((noreturn)) void child_main (const struct plan *plan, int sock);

#endif
