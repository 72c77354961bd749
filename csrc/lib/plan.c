/* Reading the plan buffer (see plan.h). Validation runs in the parent,
   before the clone, so the child can trust every bound. */
#include <errno.h>
#include <string.h>
#include "containr.h"
#include "plan.h"
#include "init-helper.h"

#define ALIGN8(n) (((n) + 7u) & ~7u)

static int
is_string (const uint8_t *p, uint32_t len)
{
  return len > 0 && memchr (p, '\0', len) == p + len - 1;
}

/* count NUL-terminated strings filling exactly len bytes */
static int
is_string_list (const uint8_t *p, uint32_t len, uint32_t count)
{
  uint32_t seen = 0;
  for (uint32_t i = 0; i < len; i++)
    if (p[i] == '\0')
      seen++;
  return seen == count && (len == 0 || p[len - 1] == '\0');
}

static uint32_t
read_u32 (const uint8_t *p)
{
  uint32_t v;
  memcpy (&v, p, sizeof v);
  return v;
}

void
plan_iter_init (const struct plan *plan, struct plan_iter *it)
{
  it->next = plan->buf + 16;
  it->end = plan->buf + plan->len;
}

static int
next_any (struct plan_iter *it, struct plan_section_view *out)
{
  if (it->next + 8 > it->end)
    return 0;
  out->type = read_u32 (it->next);
  out->len = read_u32 (it->next + 4);
  out->payload = it->next + 8;
  it->next += 8 + ALIGN8 (out->len);
  return 1;
}

int
plan_next (struct plan_iter *it, uint32_t type, struct plan_section_view *out)
{
  while (next_any (it, out))
    if (out->type == type)
      return 1;
  return 0;
}

const char *
plan_keyed_string (const struct plan *plan, uint32_t type, uint32_t key)
{
  struct plan_iter it;
  struct plan_section_view s;
  plan_iter_init (plan, &it);
  while (plan_next (&it, type, &s))
    if (read_u32 (s.payload) == key)
      return (const char *) s.payload + 4;
  return NULL;
}

const char *
plan_next_string (const char *s)
{
  return s + strlen (s) + 1;
}

void
plan_read_mount (const struct plan_section_view *s, struct plan_mount *m)
{
  memcpy (&m->head, s->payload, sizeof m->head);
  m->source = (const char *) s->payload + sizeof m->head;
  m->destination = plan_next_string (m->source);
  m->fstype = plan_next_string (m->destination);
  m->data = plan_next_string (m->fstype);
}

static int
check_section (struct plan *plan, const struct plan_section_view *s, const char **why)
{
  const uint8_t *p = s->payload;
  switch (s->type)
    {
    case PLAN_CONFIG:
      if (s->len != sizeof (struct plan_config))
        return *why = "config section has the wrong size", -EINVAL;
      memcpy (&plan->config, p, sizeof plan->config);
      return 0;
    case PLAN_ROOTFS:
    case PLAN_HOSTNAME:
    case PLAN_DOMAINNAME:
    case PLAN_CWD:
    case PLAN_EXEC_FIFO:
      {
        const char **slot[] = { [PLAN_ROOTFS] = &plan->rootfs, [PLAN_HOSTNAME] = &plan->hostname,
                                [PLAN_DOMAINNAME] = &plan->domainname, [PLAN_CWD] = &plan->cwd,
                                [PLAN_EXEC_FIFO] = &plan->exec_fifo };
        if (!is_string (p, s->len))
          return *why = "string section is not NUL-terminated", -EINVAL;
        *slot[s->type] = (const char *) p;
        return 0;
      }
    case PLAN_ARGV:
    case PLAN_ENV:
      {
        if (s->len < 4)
          return *why = "string list section is too short", -EINVAL;
        uint32_t count = read_u32 (p);
        if (!is_string_list (p + 4, s->len - 4, count))
          return *why = "string list section is malformed", -EINVAL;
        if (s->type == PLAN_ARGV)
          plan->argv_strings = (const char *) p + 4, plan->argc = count;
        else
          plan->env_strings = (const char *) p + 4, plan->envc = count;
        return 0;
      }
    case PLAN_GROUPS:
      if (s->len < 4 || s->len != 4 + 4 * read_u32 (p))
        return *why = "groups section is malformed", -EINVAL;
      plan->ngroups = read_u32 (p);
      plan->groups = p + 4;
      return 0;
    case PLAN_NAMESPACE:
      if (s->len < 5 || !is_string (p + 4, s->len - 4))
        return *why = "namespace section is malformed", -EINVAL;
      return 0;
    case PLAN_MOUNT:
      {
        struct plan_mount_head head;
        if (s->len < sizeof head)
          return *why = "mount section is too short", -EINVAL;
        memcpy (&head, p, sizeof head);
        if (head.propagation_count > PLAN_MOUNT_MAX_PROPAGATION || head.kind > PLAN_MOUNT_REMOUNT
            || !is_string_list (p + sizeof head, s->len - sizeof head, 4))
          return *why = "mount section is malformed", -EINVAL;
        return 0;
      }
    case PLAN_RLIMIT:
      if (s->len != sizeof (struct plan_rlimit))
        return *why = "rlimit section has the wrong size", -EINVAL;
      return 0;
    case PLAN_SYSCTL:
      if (!is_string_list (p, s->len, 2))
        return *why = "sysctl section is malformed", -EINVAL;
      return 0;
    case PLAN_CAPS:
      if (s->len != sizeof (struct plan_caps))
        return *why = "capabilities section has the wrong size", -EINVAL;
      plan->caps = (const struct plan_caps *) p;
      return 0;
    case PLAN_SECCOMP:
      {
        struct plan_seccomp_head head;
        if (s->len < sizeof head)
          return *why = "seccomp section is too short", -EINVAL;
        memcpy (&head, p, sizeof head);
        /* struct sock_filter is 8 bytes; the kernel allows at most 4096 */
        if (head.count == 0 || head.count > 4096 || s->len != sizeof head + 8u * head.count)
          return *why = "seccomp section is malformed", -EINVAL;
        plan->seccomp = (const struct plan_seccomp_head *) p;
        return 0;
      }
    case PLAN_MASKED_PATH:
    case PLAN_READONLY_PATH:
    case PLAN_KEYRING:
    case PLAN_CONSOLE_SOCKET:
      if (!is_string (p, s->len))
        return *why = "string section is not NUL-terminated", -EINVAL;
      if (s->type == PLAN_KEYRING)
        plan->keyring = (const char *) p;
      if (s->type == PLAN_CONSOLE_SOCKET)
        plan->console_socket = (const char *) p;
      return 0;
    case PLAN_DEVICE:
      if (s->len <= sizeof (struct plan_device) || !is_string (p + sizeof (struct plan_device), s->len - sizeof (struct plan_device)))
        return *why = "device section is malformed", -EINVAL;
      return 0;
    case PLAN_TERMINAL:
      if (s->len != sizeof (struct plan_terminal))
        return *why = "terminal section has the wrong size", -EINVAL;
      plan->terminal = (const struct plan_terminal *) p;
      return 0;
    case PLAN_HOOK:
      {
        struct plan_hook_head head;
        if (s->len < sizeof head)
          return *why = "hook section is too short", -EINVAL;
        memcpy (&head, p, sizeof head);
        if (head.kind > PLAN_HOOK_START_CONTAINER || head.argc > 4096 || head.envc > 4096
            || !is_string_list (p + sizeof head, s->len - sizeof head, 1 + head.argc + head.envc))
          return *why = "hook section is malformed", -EINVAL;
        return 0;
      }
    case PLAN_HOOK_STATE:
      if (s->len < 5 || read_u32 (p) > PLAN_HOOK_START_CONTAINER || !is_string (p + 4, s->len - 4))
        return *why = "hook state section is malformed", -EINVAL;
      return 0;
    case PLAN_PRESERVE_FDS:
      if (s->len != 4 || read_u32 (p) > SPAWN_MAX_PRESERVED_FDS)
        return *why = "preserve-fds section is malformed", -EINVAL;
      plan->preserve_fds = read_u32 (p);
      return 0;
    default:
      return *why = "unknown section type (plan from a different containr version?)", -EINVAL;
    }
}

int
plan_parse (const uint8_t *buf, uint32_t len, struct plan *plan, const char **why)
{
  memset (plan, 0, sizeof *plan);
  if (len < 16 || read_u32 (buf) != PLAN_MAGIC || read_u32 (buf + 8) != len)
    return *why = "not a plan", -EINVAL;
  if (read_u32 (buf + 4) != CONTAINR_ABI_VERSION)
    return *why = "plan ABI version differs from the library's", -EINVAL;
  plan->buf = buf;
  plan->len = len;

  struct plan_iter it;
  struct plan_section_view s;
  int have_config = 0;
  plan_iter_init (plan, &it);
  while (it.next < it.end)
    {
      if (it.next + 8 > it.end)
        return *why = "truncated section header", -EINVAL;
      next_any (&it, &s);
      if (s.payload + s.len > it.end || it.next > it.end)
        return *why = "section runs past the end of the plan", -EINVAL;
      int ret = check_section (plan, &s, why);
      if (ret < 0)
        return ret;
      have_config |= s.type == PLAN_CONFIG;
    }
  if (!have_config || plan->rootfs == NULL || plan->argc == 0 || plan->cwd == NULL)
    return *why = "plan lacks config, rootfs, argv or cwd", -EINVAL;
  return 0;
}
