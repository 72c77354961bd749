/*
 * One nf_tables question over NETLINK_NETFILTER, without starting `nft`
 * (about 10 ms): does chain CHAIN exist in table TABLE (family ip)? The
 * engine's base NAT rules are installed together with a marker chain named
 * after their version, in one transaction, so the marker's presence says the
 * rules are there and current, and a start without published ports needs no
 * nft process at all.
 */
#include "containr.h"
#include "netlink.h"

#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/* 1 when the chain exists, 0 when it or its table does not, or -errno. */
CONTAINR_EXPORT int containr_nft_chain_exists (const char *table, const char *chain, char *errbuf, size_t errlen)
{
  struct nl_error err = { errbuf, errlen };
  struct nl_request req;
  struct nfgenmsg gen = { .nfgen_family = NFPROTO_IPV4, .version = NFNETLINK_V0 };
  char what[128];
  int sock, rc;
  sock = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (sock < 0)
    return nl_fail (&err, errno, "open a NETLINK_NETFILTER socket", NULL);
  snprintf (what, sizeof what, "look up nft chain ip %s %s", table, chain);
  nl_init (&req, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN, 0, &gen, sizeof gen);
  nl_put_str (&req, NFTA_CHAIN_TABLE, table);
  nl_put_str (&req, NFTA_CHAIN_NAME, chain);
  rc = nl_transact (sock, &req, what, &err);
  close (sock);
  if (rc == -ENOENT)
    return 0;
  return rc < 0 ? rc : 1;
}
