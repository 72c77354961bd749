/*
 * seccomp-probe FILTER FLAGS PROGRAM [ARGS...]
 *
 * Test helper (not embedded in containr): load a seccomp BPF program that
 * containr's TypeScript compiler wrote to FILTER (struct sock_filter[]),
 * with the SECCOMP_FILTER_FLAG_* bits FLAGS, then exec PROGRAM. It proves
 * the compiled bytes on the real kernel without the runtime. Exit status
 * 125 and a "stage: errno: message" line on stderr when loading fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROBE_MAX_INSNS 4096

static int fail(const char *stage, const char *what)
{
	int saved = errno;
	fprintf(stderr, "seccomp-probe: %s %s: %s\n", stage, what, strerror(saved));
	return 125;
}

int main(int argc, char **argv)
{
	static struct sock_filter insns[PROBE_MAX_INSNS + 1];
	struct sock_fprog prog;
	unsigned long flags;
	ssize_t total = 0, n;
	char *end;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: seccomp-probe FILTER FLAGS PROGRAM [ARGS...]\n");
		return 125;
	}
	errno = 0;
	flags = strtoul(argv[2], &end, 0);
	if (errno != 0 || *end != '\0') {
		errno = EINVAL;
		return fail("parse flags", argv[2]);
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open", argv[1]);
	while ((n = read(fd, (char *)insns + total, sizeof(insns) - (size_t)total)) > 0)
		total += n;
	if (n < 0)
		return fail("read", argv[1]);
	close(fd);
	if (total == 0 || total % (ssize_t)sizeof(struct sock_filter) != 0 ||
	    total > (ssize_t)(PROBE_MAX_INSNS * sizeof(struct sock_filter))) {
		errno = EINVAL;
		return fail("check length of", argv[1]);
	}
	prog.len = (unsigned short)(total / (ssize_t)sizeof(struct sock_filter));
	prog.filter = insns;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail("prctl", "PR_SET_NO_NEW_PRIVS");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) < 0)
		return fail("seccomp", "SECCOMP_SET_MODE_FILTER");
	execv(argv[3], &argv[3]);
	return fail("execv", argv[3]);
}
