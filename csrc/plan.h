#ifndef CONTAINR_PLAN_H
#define CONTAINR_PLAN_H
/*
 * The plan: everything the container's first process needs, computed and
 * validated by TypeScript (src/runtime/plan.ts) BEFORE the clone and handed
 * to the child as one flat buffer. The child reads it in place: no malloc,
 * no parsing of JSON, no stdio after a clone from a multithreaded process.
 *
 * Layout (native endianness; every section starts 8-byte aligned):
 *   header  { u32 magic; u32 abi; u32 total_len; u32 reserved; }
 *   section { u32 type; u32 len; u8 payload[len]; pad to 8 }  ...
 * Singletons (CONFIG, ROOTFS, ...) appear at most once; repeated sections
 * (MOUNT, RLIMIT, ...) are applied in the order they appear. The
 * layout is mirrored in src/runtime/plan.ts; keep the two in step and bump
 * CONTAINR_ABI_VERSION when it changes.
 */
#include <stdint.h>
#include <stddef.h>

#define PLAN_MAGIC 0x50544e43u /* "CNTP" */

enum plan_section
{
  PLAN_CONFIG = 1,       /* struct plan_config */
  PLAN_ROOTFS = 2,       /* string: absolute host path of the root filesystem */
  PLAN_HOSTNAME = 3,     /* string */
  PLAN_DOMAINNAME = 4,   /* string */
  PLAN_CWD = 5,          /* string: absolute path inside the container */
  PLAN_EXEC_FIFO = 6,    /* string: host path of the exec fifo (create); absent for run */
  PLAN_ARGV = 7,         /* u32 count; count NUL-terminated strings */
  PLAN_ENV = 8,          /* u32 count; count NUL-terminated strings */
  PLAN_GROUPS = 9,       /* u32 count; u32 gid[count] */
  PLAN_NAMESPACE = 10,   /* u32 clone flag (CLONE_NEW*); string path to join */
  PLAN_MOUNT = 11,       /* struct plan_mount_head; strings source, destination, fstype, data */
  PLAN_RLIMIT = 12,      /* struct plan_rlimit */
  PLAN_SYSCTL = 13,      /* strings key, value */
  PLAN_CAPS = 14,        /* struct plan_caps; absent: the capabilities stay as they are */
  PLAN_SECCOMP = 15,     /* u32 flags; u32 count; struct sock_filter[count] (compiled by src/linux/seccomp) */
  PLAN_MASKED_PATH = 16, /* string: path inside the container hidden under /dev/null or a read-only tmpfs */
  PLAN_READONLY_PATH = 17, /* string: path inside the container bind-mounted read-only on itself */
  PLAN_DEVICE = 18,      /* struct plan_device; string path inside the container */
  PLAN_TERMINAL = 19,    /* struct plan_terminal: give the process a pty from the container's devpts */
  PLAN_CONSOLE_SOCKET = 20, /* string: host path of the --console-socket that gets the pty master */
  PLAN_HOOK = 21,        /* struct plan_hook_head; path, args[argc], env[envc] as strings */
  PLAN_HOOK_STATE = 22,  /* u32 kind; string: the state JSON up to "pid": (the child adds its pid and "}") */
  PLAN_KEYRING = 23,     /* string: name of the session keyring to join (absent: --no-new-keyring) */
  PLAN_PRESERVE_FDS = 24, /* u32: fds 3 .. 3+n-1 of the caller go to the process (--preserve-fds) */
  PLAN_SECTION_MAX = 24,
};

enum plan_flags
{
  PLAN_FLAG_READONLY_ROOT = 1u << 0,   /* root.readonly: remount / ro after the pivot */
  PLAN_FLAG_NO_PIVOT = 1u << 1,        /* MS_MOVE + chroot instead of pivot_root */
  PLAN_FLAG_DEFAULT_DEVICES = 1u << 2, /* create null, zero, ... and the /dev links */
  PLAN_FLAG_OOM_SCORE_ADJ = 1u << 3,   /* oom_score_adj is set */
  PLAN_FLAG_UMASK = 1u << 4,           /* umask is set */
  PLAN_FLAG_NO_NEW_PRIVS = 1u << 5,    /* process.noNewPrivileges */
  PLAN_FLAG_EXEC = 1u << 6,            /* oci exec: join a running container; no rootfs, hostname, ... set-up */
  PLAN_FLAG_RUNTIME_HOOKS = 1u << 7,   /* stop before the pivot for the parent's prestart/createRuntime hooks */
};

struct plan_caps
{
  uint64_t bounding, effective, inheritable, permitted, ambient; /* 1 << CAP_* */
};

struct plan_seccomp_head
{
  uint32_t flags; /* SECCOMP_FILTER_FLAG_* */
  uint32_t count; /* instructions that follow */
};

struct plan_device
{
  uint32_t mode;  /* S_IFCHR/S_IFBLK/S_IFIFO | permission bits */
  uint32_t major;
  uint32_t minor;
  uint32_t uid;
  uint32_t gid;
  uint32_t reserved;
};

struct plan_terminal
{
  uint16_t rows; /* process.consoleSize; 0 leaves the kernel's default */
  uint16_t cols;
  uint32_t reserved;
};

enum plan_hook_kind
{
  PLAN_HOOK_CREATE_CONTAINER = 0, /* in the container's namespaces, before the pivot */
  PLAN_HOOK_START_CONTAINER = 1,  /* in the container, after start, before execve of the process */
};

struct plan_hook_head
{
  uint32_t kind;    /* enum plan_hook_kind */
  uint32_t timeout; /* seconds; 0: none */
  uint32_t argc;
  uint32_t envc;
};

struct plan_config
{
  uint64_t clone_flags;      /* CLONE_NEW* to create */
  uint32_t flags;            /* enum plan_flags */
  uint32_t root_propagation; /* MS_* for "/" before the mounts (rootfsPropagation); 0: MS_SLAVE|MS_REC */
  uint32_t uid;
  uint32_t gid;
  int32_t oom_score_adj;
  uint32_t umask;
};

enum plan_mount_kind
{
  PLAN_MOUNT_FS = 0,      /* mount(source, dest, fstype, flags, data) */
  PLAN_MOUNT_BIND = 1,    /* bind (MS_REC for rbind), then a remount for ro/nosuid/... */
  PLAN_MOUNT_REMOUNT = 2, /* change the flags of a mount made earlier (ro /sys/fs/cgroup tmpfs) */
};

#define PLAN_MOUNT_MAX_PROPAGATION 4

struct plan_mount_head
{
  uint64_t flags; /* MS_* without propagation flags */
  uint32_t kind;  /* enum plan_mount_kind */
  uint32_t propagation_count;
  uint32_t propagation[PLAN_MOUNT_MAX_PROPAGATION]; /* MS_PRIVATE|MS_REC, ... applied after the mount */
};

struct plan_rlimit
{
  uint32_t resource; /* RLIMIT_* */
  uint32_t reserved;
  uint64_t soft;
  uint64_t hard;
};

/* A validated plan, as pointers into the buffer. */
struct plan
{
  const uint8_t *buf;
  uint32_t len;
  struct plan_config config;
  const char *rootfs;
  const char *hostname;
  const char *domainname;
  const char *cwd;
  const char *exec_fifo;
  const char *argv_strings;
  uint32_t argc;
  const char *env_strings;
  uint32_t envc;
  const uint8_t *groups; /* u32 array, possibly unaligned */
  uint32_t ngroups;
  const struct plan_caps *caps;        /* NULL: leave the capabilities alone */
  const struct plan_seccomp_head *seccomp; /* NULL: no filter; instructions follow the head */
  const struct plan_terminal *terminal;    /* NULL: no pty */
  const char *console_socket;
  const char *keyring;
  uint32_t preserve_fds;
};

struct plan_section_view
{
  uint32_t type;
  uint32_t len;
  const uint8_t *payload;
};

struct plan_iter
{
  const uint8_t *next;
  const uint8_t *end;
};

struct plan_mount
{
  struct plan_mount_head head;
  const char *source;
  const char *destination;
  const char *fstype;
  const char *data;
};

/* Check every bound and string of buf and fill *plan; -EINVAL with *why set on a malformed plan. */
int plan_parse (const uint8_t *buf, uint32_t len, struct plan *plan, const char **why);
void plan_iter_init (const struct plan *plan, struct plan_iter *it);
/* Next section of the given type; 0 at the end. */
int plan_next (struct plan_iter *it, uint32_t type, struct plan_section_view *out);
void plan_read_mount (const struct plan_section_view *s, struct plan_mount *m);
/* In the sections of the given type that are a u32 key then a string
   (PLAN_NAMESPACE, PLAN_HOOK_STATE; plan_parse checked both): the string of
   the first one with that key, or NULL. */
const char *plan_keyed_string (const struct plan *plan, uint32_t type, uint32_t key);
/* The string after `s` in a run of NUL-terminated strings. */
const char *plan_next_string (const char *s);

#endif
