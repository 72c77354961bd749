/* Docker's json-file log driver: one JSON object per line,
   {"log":"...","stream":"stdout","time":"RFC 3339 with nanoseconds"},
   escaped as moby's jsonlog does (Go's encoding/json rules: <, > and &
   as \u003c..., invalid UTF-8 as \ufffd), rotated by size into
   PATH.1 .. PATH.(max_files-1). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "monitor.h"

/* A log line's escaped text is at most 6 bytes per input byte (\u00XX). */
#define ENTRY_MAX (16 * 1024 * 6 + 128)

void
mon_rfc3339nano (char *buf, size_t cap)
{
  struct timespec ts;
  struct tm tm;
  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  size_t n = strftime (buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
  if (ts.tv_nsec != 0 && n + 11 < cap)
    {
      /* Go trims trailing zeros of the fraction */
      char frac[16];
      snprintf (frac, sizeof frac, ".%09ld", ts.tv_nsec);
      size_t len = strlen (frac);
      while (len > 1 && frac[len - 1] == '0')
        len--;
      frac[len] = '\0';
      memcpy (buf + n, frac, len + 1);
      n += len;
    }
  if (n + 2 <= cap)
    {
      buf[n] = 'Z';
      buf[n + 1] = '\0';
    }
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is invalid. */
static size_t
utf8_len (const unsigned char *s, size_t avail, uint32_t *cp)
{
  unsigned char c = s[0];
  size_t len;
  uint32_t min;
  if (c < 0x80)
    {
      *cp = c;
      return 1;
    }
  if ((c & 0xe0) == 0xc0)
    len = 2, min = 0x80, *cp = c & 0x1f;
  else if ((c & 0xf0) == 0xe0)
    len = 3, min = 0x800, *cp = c & 0x0f;
  else if ((c & 0xf8) == 0xf0)
    len = 4, min = 0x10000, *cp = c & 0x07;
  else
    return 0;
  if (len > avail)
    return 0;
  for (size_t i = 1; i < len; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return 0;
      *cp = (*cp << 6) | (s[i] & 0x3f);
    }
  if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
    return 0;
  return len;
}

static size_t
escape (char *out, const char *data, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *) data;
  size_t o = 0;
  for (size_t i = 0; i < len;)
    {
      unsigned char c = s[i];
      if (c < 0x80)
        {
          if (c == '"' || c == '\\')
            out[o++] = '\\', out[o++] = (char) c;
          else if (c == '\n')
            out[o++] = '\\', out[o++] = 'n';
          else if (c == '\r')
            out[o++] = '\\', out[o++] = 'r';
          else if (c == '\t')
            out[o++] = '\\', out[o++] = 't';
          else if (c < 0x20 || c == '<' || c == '>' || c == '&')
            {
              memcpy (out + o, "\\u00", 4);
              out[o + 4] = hex[c >> 4];
              out[o + 5] = hex[c & 15];
              o += 6;
            }
          else
            out[o++] = (char) c;
          i++;
          continue;
        }
      uint32_t cp;
      size_t n = utf8_len (s + i, len - i, &cp);
      if (n == 0)
        {
          memcpy (out + o, "\\ufffd", 6);
          o += 6;
          i++;
        }
      else if (cp == 0x2028 || cp == 0x2029)
        {
          memcpy (out + o, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
          o += 6;
          i += n;
        }
      else
        {
          memcpy (out + o, s + i, n);
          o += n;
          i += n;
        }
    }
  return o;
}

int
mon_log_open (struct mon_log *log, const char *path, uint64_t max_size, unsigned max_files)
{
  log->path = path;
  log->max_size = max_size;
  log->max_files = max_files == 0 ? 1 : max_files;
  log->fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log->fd < 0)
    {
      mon_fail ("open the log file", errno, path);
      return -1;
    }
  struct stat st;
  log->size = fstat (log->fd, &st) == 0 ? (uint64_t) st.st_size : 0;
  return 0;
}

/* moby's rotate(): PATH.(n-2) → PATH.(n-1) ... PATH → PATH.1, then a new PATH. */
static int
rotate (struct mon_log *log)
{
  char from[4096], to[4096];
  if (log->max_files > 1)
    {
      for (unsigned i = log->max_files - 1; i > 1; i--)
        {
          snprintf (from, sizeof from, "%s.%u", log->path, i - 1);
          snprintf (to, sizeof to, "%s.%u", log->path, i);
          if (rename (from, to) < 0 && errno != ENOENT)
            mon_fail ("rotate the log file", errno, from);
        }
      snprintf (to, sizeof to, "%s.1", log->path);
      if (rename (log->path, to) < 0)
        mon_fail ("rotate the log file", errno, log->path);
    }
  int fd = open (log->path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0)
    {
      mon_fail ("open the log file", errno, log->path);
      return -1;
    }
  close (log->fd);
  log->fd = fd;
  log->size = 0;
  return 0;
}

int
mon_log_write (struct mon_log *log, enum mon_stream stream, const char *data, size_t len)
{
  static char entry[ENTRY_MAX];
  char when[64];
  if (log->fd < 0)
    return 0;
  mon_rfc3339nano (when, sizeof when);
  size_t n = 0;
  memcpy (entry, "{\"log\":\"", 8);
  n = 8;
  n += escape (entry + n, data, len);
  n += (size_t) snprintf (entry + n, sizeof entry - n, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                          stream == MON_STDERR ? "stderr" : "stdout", when);
  if (log->max_size > 0 && log->size > 0 && log->size + n > log->max_size && rotate (log) < 0)
    return -1;
  for (size_t off = 0; off < n;)
    {
      ssize_t w = write (log->fd, entry + off, n - off);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          mon_fail ("write the log file", errno, log->path);
          return -1;
        }
      off += (size_t) w;
    }
  log->size += n;
  return 0;
}
