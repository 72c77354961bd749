/*
 * Configuring the interfaces inside a container's network namespace from
 * the multithreaded Bun process: setns(CLONE_NEWNET) applies to the calling
 * thread only, so the work runs in a short-lived pthread that joins the
 * namespace, opens its NETLINK_ROUTE socket there (a socket belongs to the
 * namespace it was created in) and exits; the caller joins it. The Bun
 * thread never changes namespace.
 */
#include "containr.h"
#include "netlink.h"

#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

struct netns_job
{
  int netns_fd;
  const char *ifname;
  uint32_t address;
  int prefix;
  uint32_t gateway;
  struct nl_error err;
  int rc;
};

static int configure (struct netns_job *job)
{
  int sock, rc, lo, eth;
  if (setns (job->netns_fd, CLONE_NEWNET) < 0)
    return nl_fail (&job->err, errno, "join the container's network namespace", NULL);
  sock = nl_open (&job->err);
  if (sock < 0)
    return sock;
  rc = lo = nl_link_index ("lo", &job->err);
  if (rc >= 0)
    rc = nl_link_up (sock, lo, "lo", &job->err);
  if (rc >= 0)
    rc = eth = nl_link_index (job->ifname, &job->err);
  if (rc >= 0)
    rc = nl_addr_add (sock, eth, job->address, job->prefix, job->ifname, 0, &job->err);
  if (rc >= 0)
    rc = nl_link_up (sock, eth, job->ifname, &job->err);
  /* no gateway: an internal network, reachable only on its own subnet */
  if (rc >= 0 && job->gateway != 0)
    rc = nl_route_default (sock, eth, job->gateway, &job->err);
  close (sock);
  return rc < 0 ? rc : 0;
}

static void *configure_thread (void *arg)
{
  struct netns_job *job = arg;
  job->rc = configure (job);
  return NULL;
}

/*
 * In the network namespace NETNS_FD: lo up, IFNAME up with ADDRESS/PREFIX,
 * default route via GATEWAY (addresses in network byte order).
 */
CONTAINR_EXPORT int containr_netlink_container_setup (int netns_fd, const char *ifname, uint32_t address, int prefix, uint32_t gateway,
                                                      char *errbuf, size_t errlen)
{
  struct netns_job job = { netns_fd, ifname, address, prefix, gateway, { errbuf, errlen }, 0 };
  pthread_t thread;
  int rc = pthread_create (&thread, NULL, configure_thread, &job);
  if (rc != 0)
    return nl_fail (&job.err, rc, "start the network set-up thread", NULL);
  rc = pthread_join (thread, NULL);
  if (rc != 0)
    return nl_fail (&job.err, rc, "join the network set-up thread", NULL);
  return job.rc;
}
