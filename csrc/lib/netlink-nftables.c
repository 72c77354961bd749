/*
 * Two read-only nf_tables questions over NETLINK_NETFILTER, each without
 * starting `nft` (about 10 ms); every change still goes through nft:
 * - does chain CHAIN exist in table TABLE (family ip)? The engine's base NAT
 *   rules are installed together with a marker chain named after their
 *   version, in one transaction, so the marker's presence says the rules are
 *   there and current, and a start without published ports needs no nft
 *   process at all;
 * - the handles of the rules of a chain whose comment is a container's id,
 *   which the release then deletes by handle in one nft transaction.
 */
#include "containr.h"
#include "netlink.h"

#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <string.h>
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

/* The comment in a rule's NFTA_RULE_USERDATA (libnftnl's TLVs: u8 type, u8 length, value), or NULL. */
static const char *rule_comment (const unsigned char *data, size_t len)
{
  /* NFTNL_UDATA_RULE_COMMENT */
  enum { RULE_COMMENT = 0 };
  size_t at = 0;
  while (at + 2 <= len)
    {
      unsigned type = data[at], size = data[at + 1];
      if (at + 2 + size > len)
        break;
      if (type == RULE_COMMENT && size > 0 && data[at + 2 + size - 1] == '\0')
        return (const char *) data + at + 2;
      at += 2 + size;
    }
  return NULL;
}

/* Record the handle of one NEWRULE message whose comment is tag. */
static void collect_handle (struct nlmsghdr *hdr, const char *tag, uint64_t *handles, size_t cap, size_t *count)
{
  struct nlattr *attr = (struct nlattr *) ((char *) NLMSG_DATA (hdr) + NLMSG_ALIGN (sizeof (struct nfgenmsg)));
  size_t left = hdr->nlmsg_len - NLMSG_LENGTH (NLMSG_ALIGN (sizeof (struct nfgenmsg)));
  uint64_t handle = 0;
  int has_handle = 0, tagged = 0;
  while (left >= NLA_HDRLEN && attr->nla_len >= NLA_HDRLEN && attr->nla_len <= left)
    {
      size_t payload = attr->nla_len - NLA_HDRLEN;
      const unsigned char *value = (const unsigned char *) attr + NLA_HDRLEN;
      switch (attr->nla_type & NLA_TYPE_MASK)
        {
        case NFTA_RULE_HANDLE:
          if (payload == sizeof handle)
            {
              /* big-endian */
              for (size_t i = 0; i < sizeof handle; i++)
                handle = (handle << 8) | value[i];
              has_handle = 1;
            }
          break;
        case NFTA_RULE_USERDATA:
          {
            const char *comment = rule_comment (value, payload);
            tagged = comment != NULL && strcmp (comment, tag) == 0;
          }
          break;
        }
      left -= (size_t) NLA_ALIGN (attr->nla_len) < left ? (size_t) NLA_ALIGN (attr->nla_len) : left;
      attr = (struct nlattr *) ((char *) attr + NLA_ALIGN (attr->nla_len));
    }
  if (has_handle && tagged && *count < cap)
    handles[(*count)++] = handle;
}

/*
 * The handles of the rules of chain CHAIN in table TABLE (family ip) whose
 * comment is TAG, at most CAP of them, without an `nft` process (a
 * NFT_MSG_GETRULE dump). Returns how many, 0 when the table or chain does not
 * exist, or -errno.
 */
CONTAINR_EXPORT int containr_nft_tagged_rule_handles (const char *table, const char *chain, const char *tag, uint64_t *handles, size_t cap,
                                                      char *errbuf, size_t errlen)
{
  struct nl_error err = { errbuf, errlen };
  struct nl_request req;
  struct nfgenmsg gen = { .nfgen_family = NFPROTO_IPV4, .version = NFNETLINK_V0 };
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  /* a dump's messages come in buffers of up to 32 KiB */
  char reply[65536] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  char what[128];
  size_t count = 0;
  int sock, rc = 0, done = 0;
  ssize_t n;
  snprintf (what, sizeof what, "list the rules of nft chain ip %s %s", table, chain);
  sock = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (sock < 0)
    return nl_fail (&err, errno, "open a NETLINK_NETFILTER socket", NULL);
  nl_init (&req, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE, NLM_F_DUMP, &gen, sizeof gen);
  nl_put_str (&req, NFTA_RULE_TABLE, table);
  nl_put_str (&req, NFTA_RULE_CHAIN, chain);
  do
    n = sendto (sock, req.u.bytes, req.u.hdr.nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof kernel);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      rc = nl_fail (&err, errno, what, "send to the kernel");
      goto out;
    }
  while (!done)
    {
      struct nlmsghdr *hdr;
      do
        n = recv (sock, reply, sizeof reply, 0);
      while (n < 0 && errno == EINTR);
      if (n < 0)
        {
          rc = nl_fail (&err, errno, what, "read the kernel's answer");
          goto out;
        }
      if (n == 0)
        {
          rc = nl_fail (&err, EPIPE, what, "the kernel closed the socket");
          goto out;
        }
      for (hdr = (struct nlmsghdr *) reply; NLMSG_OK (hdr, (size_t) n); hdr = NLMSG_NEXT (hdr, n))
        {
          if (hdr->nlmsg_type == NLMSG_DONE)
            {
              done = 1;
              break;
            }
          if (hdr->nlmsg_type == NLMSG_ERROR)
            {
              struct nlmsgerr *e = NLMSG_DATA (hdr);
              if (e->error == -ENOENT)
                rc = 0;
              else if (e->error < 0)
                rc = nl_fail (&err, -e->error, what, NULL);
              done = 1;
              break;
            }
          if (hdr->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE))
            collect_handle (hdr, tag, handles, cap, &count);
        }
    }
out:
  close (sock);
  return rc < 0 ? rc : (int) count;
}
