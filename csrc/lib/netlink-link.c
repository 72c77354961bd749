/*
 * Links: the bridge (created once, idempotently: a concurrent first run
 * that loses the race sees EEXIST and carries on), the veth pair of a
 * container (created with its peer directly in the container's network
 * namespace, named and addressed there, the host end enslaved to the bridge
 * and up in the same request), and removal of a host-side link.
 * They run in the calling thread's network namespace: the host's.
 */
#include "containr.h"
#include "netlink.h"

#include <errno.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int nl_link_index (const char *name, struct nl_error *err)
{
  char what[64];
  unsigned index = if_nametoindex (name);
  if (index == 0)
    {
      snprintf (what, sizeof what, "find link %s", name);
      return nl_fail (err, errno, what, NULL);
    }
  return (int) index;
}

int nl_link_up (int sock, int index, const char *name, struct nl_error *err)
{
  struct nl_request req;
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  char what[64];
  snprintf (what, sizeof what, "set link %s up", name);
  nl_init (&req, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  return nl_transact (sock, &req, what, err);
}

/* Create (or find) bridge NAME with ADDRESS/PREFIX (network byte order) on it, and bring it up. */
CONTAINR_EXPORT int containr_netlink_bridge_ensure (const char *name, uint32_t address, int prefix, char *errbuf, size_t errlen)
{
  struct nl_error err = { errbuf, errlen };
  struct nl_request req;
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  struct nlattr *linkinfo;
  char what[64];
  int sock, index, rc;
  if (strlen (name) >= IFNAMSIZ)
    return nl_fail (&err, EINVAL, "create the bridge", "name too long");
  sock = nl_open (&err);
  if (sock < 0)
    return sock;
  snprintf (what, sizeof what, "create bridge %s", name);
  nl_init (&req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  nl_put_str (&req, IFLA_IFNAME, name);
  linkinfo = nl_nest_begin (&req, IFLA_LINKINFO);
  nl_put_str (&req, IFLA_INFO_KIND, "bridge");
  nl_nest_end (&req, linkinfo);
  rc = nl_transact (sock, &req, what, &err);
  if (rc < 0 && rc != -EEXIST)
    goto out;
  rc = index = nl_link_index (name, &err);
  if (rc < 0)
    goto out;
  rc = nl_addr_add (sock, index, address, prefix, name, 1, &err);
  if (rc < 0)
    goto out;
  rc = nl_link_up (sock, index, name, &err);
out:
  close (sock);
  return rc < 0 ? rc : 0;
}

/*
 * Hairpin mode on the bridge port NAME: a frame may leave through the port
 * it came in by, so that a container reaches its own published port through
 * a host address (DNAT sends the connection back where it came from).
 */
static int set_hairpin (int sock, const char *name, struct nl_error *err)
{
  struct nl_request req;
  struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE };
  struct nlattr *protinfo;
  uint8_t on = 1;
  char what[64];
  int index = nl_link_index (name, err);
  if (index < 0)
    return index;
  ifi.ifi_index = index;
  snprintf (what, sizeof what, "set hairpin mode on %s", name);
  nl_init (&req, RTM_SETLINK, 0, &ifi, sizeof ifi);
  protinfo = nl_nest_begin (&req, IFLA_PROTINFO);
  nl_put (&req, IFLA_BRPORT_MODE, &on, sizeof on);
  nl_nest_end (&req, protinfo);
  return nl_transact (sock, &req, what, err);
}

/*
 * Create veth HOST_NAME (enslaved to BRIDGE, up, in hairpin mode) whose
 * peer is created in the network namespace NETNS_FD as PEER_NAME with the
 * 6-byte MAC.
 */
CONTAINR_EXPORT int containr_netlink_veth_create (const char *host_name, const char *bridge, int netns_fd, const char *peer_name,
                                                  const uint8_t *peer_mac, char *errbuf, size_t errlen)
{
  struct nl_error err = { errbuf, errlen };
  struct nl_request req;
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  struct ifinfomsg peer = { .ifi_family = AF_UNSPEC };
  struct nlattr *linkinfo, *data, *info_peer;
  char what[96];
  int sock, master, rc;
  if (strlen (host_name) >= IFNAMSIZ || strlen (peer_name) >= IFNAMSIZ)
    return nl_fail (&err, EINVAL, "create the veth pair", "name too long");
  sock = nl_open (&err);
  if (sock < 0)
    return sock;
  rc = master = nl_link_index (bridge, &err);
  if (rc < 0)
    goto out;
  snprintf (what, sizeof what, "create veth %s (peer %s in the container)", host_name, peer_name);
  nl_init (&req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  nl_put_str (&req, IFLA_IFNAME, host_name);
  nl_put_u32 (&req, IFLA_MASTER, (uint32_t) master);
  linkinfo = nl_nest_begin (&req, IFLA_LINKINFO);
  nl_put_str (&req, IFLA_INFO_KIND, "veth");
  data = nl_nest_begin (&req, IFLA_INFO_DATA);
  /* VETH_INFO_PEER is an ifinfomsg followed by the peer's own attributes */
  info_peer = nl_nest_begin (&req, VETH_INFO_PEER);
  nl_put (&req, 0, NULL, 0);
  if (!req.overflow)
    {
      /* replace the empty attribute just written by the peer's ifinfomsg */
      req.u.hdr.nlmsg_len -= NLA_HDRLEN;
      memcpy (req.u.bytes + req.u.hdr.nlmsg_len, &peer, sizeof peer);
      req.u.hdr.nlmsg_len += NLMSG_ALIGN (sizeof peer);
    }
  nl_put_str (&req, IFLA_IFNAME, peer_name);
  nl_put (&req, IFLA_ADDRESS, peer_mac, 6);
  nl_put_u32 (&req, IFLA_NET_NS_FD, (uint32_t) netns_fd);
  nl_nest_end (&req, info_peer);
  nl_nest_end (&req, data);
  nl_nest_end (&req, linkinfo);
  rc = nl_transact (sock, &req, what, &err);
  if (rc < 0)
    goto out;
  rc = set_hairpin (sock, host_name, &err);
out:
  close (sock);
  return rc < 0 ? rc : 0;
}

/* Delete link NAME from the host's namespace; -ENODEV when there is none. */
CONTAINR_EXPORT int containr_netlink_link_delete (const char *name, char *errbuf, size_t errlen)
{
  struct nl_error err = { errbuf, errlen };
  struct nl_request req;
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  char what[64];
  int sock, rc;
  if (strlen (name) >= IFNAMSIZ)
    return nl_fail (&err, EINVAL, "delete a link", "name too long");
  sock = nl_open (&err);
  if (sock < 0)
    return sock;
  snprintf (what, sizeof what, "delete link %s", name);
  nl_init (&req, RTM_DELLINK, 0, &ifi, sizeof ifi);
  nl_put_str (&req, IFLA_IFNAME, name);
  rc = nl_transact (sock, &req, what, &err);
  close (sock);
  return rc;
}
