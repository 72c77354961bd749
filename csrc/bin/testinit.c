/*
 * A static multi-call probe run as /init inside test containers (crun's
 * tests/init.c, youki's runtimetest): it prints what the container sees,
 * one fact per line, for the integration tests to assert on.
 *
 *   init cat FILE | hostname | domainname | id | groups | cwd | env | mounts |
 *        mountflags PATH | rlimits | cgroup | pid | ppid | sigign |
 *        write PATH | ls DIR | memhog MB | forkbomb N | exit N | sleep S | pause |
 *        kill-self SIG | wait-signal | mkdir PATH | tty
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int
cat (const char *path)
{
  FILE *f = fopen (path, "r");
  if (!f)
    {
      fprintf (stderr, "cat %s: %s\n", path, strerror (errno));
      return 1;
    }
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    fwrite (buf, 1, n, stdout);
  fclose (f);
  return 0;
}

static int
mountflags (const char *path)
{
  struct statvfs st;
  if (statvfs (path, &st) < 0)
    {
      fprintf (stderr, "statvfs %s: %s\n", path, strerror (errno));
      return 1;
    }
  printf ("%s%s%s%s\n", st.f_flag & ST_RDONLY ? "ro" : "rw", st.f_flag & ST_NOSUID ? ",nosuid" : "",
          st.f_flag & ST_NODEV ? ",nodev" : "", st.f_flag & ST_NOEXEC ? ",noexec" : "");
  return 0;
}

static int
rlimits (void)
{
  static const struct
  {
    const char *name;
    int resource;
  } limits[] = { { "NOFILE", RLIMIT_NOFILE }, { "NPROC", RLIMIT_NPROC }, { "CORE", RLIMIT_CORE },
                 { "STACK", RLIMIT_STACK },   { "MEMLOCK", RLIMIT_MEMLOCK } };
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
    {
      struct rlimit rl;
      getrlimit (limits[i].resource, &rl);
      printf ("%s %lld %lld\n", limits[i].name, rl.rlim_cur == RLIM_INFINITY ? -1LL : (long long) rl.rlim_cur,
              rl.rlim_max == RLIM_INFINITY ? -1LL : (long long) rl.rlim_max);
    }
  return 0;
}

static volatile sig_atomic_t received;

static void
on_signal (int sig)
{
  received = sig;
}

/* print "ready", then the first of TERM, INT, HUP, QUIT, USR1, USR2 that arrives */
static int
wait_signal (void)
{
  const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    signal (sigs[i], on_signal);
  printf ("ready\n");
  fflush (stdout);
  while (!received)
    pause ();
  printf ("got signal %d\n", (int) received);
  return 0;
}

static int
memhog (long mb)
{
  /* touch every page so that the memory is really charged */
  for (long i = 0; i < mb; i++)
    {
      char *p = malloc (1 << 20);
      if (!p)
        {
          printf ("malloc failed after %ld MB\n", i);
          return 1;
        }
      memset (p, 1, 1 << 20);
    }
  printf ("allocated %ld MB\n", mb);
  return 0;
}

static int
forkbomb (long n)
{
  static pid_t children[4096];
  long ok = 0;
  int failed_errno = 0;
  for (long i = 0; i < n && i < 4096; i++)
    {
      pid_t pid = fork ();
      if (pid == 0)
        {
          pause ();
          _exit (0);
        }
      if (pid < 0)
        {
          failed_errno = errno;
          break;
        }
      children[ok++] = pid;
    }
  printf ("forked %ld\n", ok);
  if (failed_errno)
    printf ("fork failed: %s\n", strerror (failed_errno));
  fflush (stdout);
  for (long i = 0; i < ok; i++)
    kill (children[i], SIGKILL);
  while (wait (NULL) > 0)
    ;
  return 0;
}

int
main (int argc, char **argv)
{
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (argc < 2)
    {
      fprintf (stderr, "usage: init COMMAND [ARG]\n");
      return 2;
    }
  const char *cmd = argv[1];
  const char *arg = argc > 2 ? argv[2] : NULL;

  if (!strcmp (cmd, "cat") && arg)
    return cat (arg);
  if (!strcmp (cmd, "hostname") || !strcmp (cmd, "domainname"))
    {
      struct utsname u;
      uname (&u);
      printf ("%s\n", cmd[0] == 'h' ? u.nodename : u.domainname);
      return 0;
    }
  if (!strcmp (cmd, "id"))
    {
      printf ("uid=%d gid=%d euid=%d egid=%d\n", getuid (), getgid (), geteuid (), getegid ());
      return 0;
    }
  if (!strcmp (cmd, "groups"))
    {
      gid_t groups[256];
      int n = getgroups (256, groups);
      for (int i = 0; i < n; i++)
        printf ("%s%d", i ? " " : "", groups[i]);
      printf ("\n");
      return 0;
    }
  if (!strcmp (cmd, "cwd"))
    {
      char buf[4096];
      printf ("%s\n", getcwd (buf, sizeof buf) ? buf : strerror (errno));
      return 0;
    }
  if (!strcmp (cmd, "env"))
    {
      for (char **e = environ; *e; e++)
        printf ("%s\n", *e);
      return 0;
    }
  if (!strcmp (cmd, "mounts"))
    return cat ("/proc/self/mountinfo");
  if (!strcmp (cmd, "mountflags") && arg)
    return mountflags (arg);
  if (!strcmp (cmd, "rlimits"))
    return rlimits ();
  if (!strcmp (cmd, "cgroup"))
    return cat ("/proc/self/cgroup");
  if (!strcmp (cmd, "pid"))
    return printf ("%d\n", getpid ()), 0;
  if (!strcmp (cmd, "ppid"))
    return printf ("%d\n", getppid ()), 0;
  if (!strcmp (cmd, "sigign"))
    {
      /* the ignored and blocked signal masks, as /proc/self/status shows them */
      FILE *f = fopen ("/proc/self/status", "r");
      char line[256];
      while (f && fgets (line, sizeof line, f))
        if (!strncmp (line, "SigIgn:", 7) || !strncmp (line, "SigBlk:", 7))
          fputs (line, stdout);
      if (f)
        fclose (f);
      return 0;
    }
  if (!strcmp (cmd, "write") && arg)
    {
      int fd = open (arg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || write (fd, "x", 1) != 1)
        {
          printf ("write %s: %s\n", arg, strerror (errno));
          return 1;
        }
      close (fd);
      printf ("wrote %s\n", arg);
      return 0;
    }
  if (!strcmp (cmd, "ls") && arg)
    {
      DIR *d = opendir (arg);
      if (!d)
        return fprintf (stderr, "ls %s: %s\n", arg, strerror (errno)), 1;
      struct dirent *e;
      while ((e = readdir (d)))
        if (strcmp (e->d_name, ".") && strcmp (e->d_name, ".."))
          {
            struct stat st;
            char path[4096];
            snprintf (path, sizeof path, "%s/%s", arg, e->d_name);
            if (lstat (path, &st) == 0)
              printf ("%s %c %o %u:%u\n", e->d_name,
                      S_ISCHR (st.st_mode) ? 'c' : S_ISLNK (st.st_mode) ? 'l' : S_ISDIR (st.st_mode) ? 'd' : 'f',
                      st.st_mode & 07777, major (st.st_rdev), minor (st.st_rdev));
          }
      closedir (d);
      return 0;
    }
  if (!strcmp (cmd, "memhog") && arg)
    return memhog (atol (arg));
  if (!strcmp (cmd, "forkbomb") && arg)
    return forkbomb (atol (arg));
  if (!strcmp (cmd, "exit") && arg)
    return atoi (arg);
  if (!strcmp (cmd, "sleep") && arg)
    return sleep (atoi (arg)), 0;
  if (!strcmp (cmd, "wait-signal"))
    return wait_signal ();
  if (!strcmp (cmd, "mkdir") && arg)
    {
      /* a call a seccomp profile can deny: "ok", or the errno's number and text */
      if (mkdir (arg, 0755) == 0)
        return printf ("mkdir ok\n"), 0;
      int saved = errno;
      return printf ("mkdir errno %d %s\n", saved, strerror (saved)), 1;
    }
  if (!strcmp (cmd, "tty"))
    {
      struct winsize ws = { 0 };
      const char *name = ttyname (0);
      int have = ioctl (0, TIOCGWINSZ, &ws) == 0;
      printf ("isatty %d %d %d name %s size %d %d\n", isatty (0), isatty (1), isatty (2), name ? name : "-", have ? ws.ws_row : -1,
              have ? ws.ws_col : -1);
      return 0;
    }
  if (!strcmp (cmd, "pause"))
    return pause (), 0;
  if (!strcmp (cmd, "kill-self") && arg)
    return kill (getpid (), atoi (arg)), 0;
  fprintf (stderr, "init: unknown command %s\n", cmd);
  return 2;
}
