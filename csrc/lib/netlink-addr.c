/* IPv4 addresses and routes (RTM_NEWADDR, RTM_NEWROUTE), in the calling thread's network namespace. */
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <stdio.h>
#include <sys/socket.h>

int nl_addr_add (int sock, int index, uint32_t address, int prefix, const char *name, int exist_ok, struct nl_error *err)
{
  struct nl_request req;
  struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = (unsigned char) prefix, .ifa_index = (unsigned) index };
  uint32_t broadcast = prefix >= 31 ? address : (address | htonl (0xffffffffu >> prefix));
  char text[INET_ADDRSTRLEN] = "";
  char what[96];
  int rc;
  inet_ntop (AF_INET, &address, text, sizeof text);
  snprintf (what, sizeof what, "add address %s/%d to %s", text, prefix, name);
  nl_init (&req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  nl_put (&req, IFA_LOCAL, &address, sizeof address);
  nl_put (&req, IFA_ADDRESS, &address, sizeof address);
  nl_put (&req, IFA_BROADCAST, &broadcast, sizeof broadcast);
  rc = nl_transact (sock, &req, what, err);
  return rc == -EEXIST && exist_ok ? 0 : rc;
}

int nl_route_default (int sock, int index, uint32_t gateway, struct nl_error *err)
{
  struct nl_request req;
  struct rtmsg rtm = {
    .rtm_family = AF_INET,
    .rtm_table = RT_TABLE_MAIN,
    .rtm_protocol = RTPROT_BOOT,
    .rtm_scope = RT_SCOPE_UNIVERSE,
    .rtm_type = RTN_UNICAST,
  };
  char text[INET_ADDRSTRLEN] = "";
  char what[64];
  inet_ntop (AF_INET, &gateway, text, sizeof text);
  snprintf (what, sizeof what, "add the default route via %s", text);
  nl_init (&req, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof rtm);
  nl_put (&req, RTA_GATEWAY, &gateway, sizeof gateway);
  nl_put_u32 (&req, RTA_OIF, (uint32_t) index);
  return nl_transact (sock, &req, what, err);
}
