/*
 * The rtnetlink socket and request builder shared by netlink-*.c: a request
 * is one fixed buffer (no allocation), sent with NLM_F_ACK, and the ACK's
 * error carries the kernel's extended-ack message when it has one
 * (NETLINK_EXT_ACK), which goes into the caller's error text.
 */
#include "netlink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

int nl_fail (struct nl_error *err, int errnum, const char *what, const char *detail)
{
  if (err != NULL && err->buf != NULL && err->len > 0)
    {
      if (detail != NULL && detail[0] != '\0')
        snprintf (err->buf, err->len, "%s (%s)", what, detail);
      else
        snprintf (err->buf, err->len, "%s", what);
    }
  return -errnum;
}

int nl_open (struct nl_error *err)
{
  int one = 1;
  int sock = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (sock < 0)
    return nl_fail (err, errno, "open a NETLINK_ROUTE socket", NULL);
  /* best effort: older kernels simply give no message */
  (void) setsockopt (sock, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  return sock;
}

void nl_init (struct nl_request *req, uint16_t type, uint16_t flags, const void *body, size_t body_len)
{
  memset (req, 0, sizeof *req);
  req->u.hdr.nlmsg_len = NLMSG_LENGTH (body_len);
  req->u.hdr.nlmsg_type = type;
  req->u.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  req->u.hdr.nlmsg_seq = 1;
  memcpy (NLMSG_DATA (&req->u.hdr), body, body_len);
}

void nl_put (struct nl_request *req, uint16_t type, const void *data, size_t len)
{
  size_t at = NLMSG_ALIGN (req->u.hdr.nlmsg_len);
  size_t total = NLA_HDRLEN + len;
  struct nlattr *attr;
  if (at + NLA_ALIGN (total) > sizeof req->u.bytes)
    {
      req->overflow = 1;
      return;
    }
  attr = (struct nlattr *) (req->u.bytes + at);
  attr->nla_type = type;
  attr->nla_len = (uint16_t) total;
  if (len > 0)
    memcpy ((char *) attr + NLA_HDRLEN, data, len);
  req->u.hdr.nlmsg_len = (uint32_t) (at + NLA_ALIGN (total));
}

void nl_put_u32 (struct nl_request *req, uint16_t type, uint32_t value) { nl_put (req, type, &value, sizeof value); }

void nl_put_str (struct nl_request *req, uint16_t type, const char *value) { nl_put (req, type, value, strlen (value) + 1); }

struct nlattr *nl_nest_begin (struct nl_request *req, uint16_t type)
{
  struct nlattr *nest = (struct nlattr *) (req->u.bytes + NLMSG_ALIGN (req->u.hdr.nlmsg_len));
  nl_put (req, type | NLA_F_NESTED, NULL, 0);
  return req->overflow ? NULL : nest;
}

void nl_nest_end (struct nl_request *req, struct nlattr *nest)
{
  if (nest != NULL)
    nest->nla_len = (uint16_t) (req->u.bytes + req->u.hdr.nlmsg_len - (char *) nest);
}

/* The extended ack's message (NLMSGERR_ATTR_MSG) after the error, or NULL. */
static const char *ext_ack_message (struct nlmsghdr *hdr, size_t len)
{
  struct nlmsgerr *e = NLMSG_DATA (hdr);
  size_t offset = NLMSG_HDRLEN + sizeof *e;
  struct nlattr *attr;
  if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS))
    return NULL;
  /* without NLM_F_CAPPED the original request follows the error */
  if (!(hdr->nlmsg_flags & NLM_F_CAPPED))
    offset += NLMSG_ALIGN (e->msg.nlmsg_len) - NLMSG_HDRLEN;
  while (offset + NLA_HDRLEN <= len)
    {
      attr = (struct nlattr *) ((char *) hdr + offset);
      if (attr->nla_len < NLA_HDRLEN || offset + attr->nla_len > len)
        break;
      if ((attr->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
        {
          char *msg = (char *) attr + NLA_HDRLEN;
          msg[attr->nla_len - NLA_HDRLEN - 1] = '\0';
          return msg;
        }
      offset += NLA_ALIGN (attr->nla_len);
    }
  return NULL;
}

int nl_transact (int sock, struct nl_request *req, const char *what, struct nl_error *err)
{
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  char reply[4096] __attribute__ ((aligned (NLMSG_ALIGNTO)));
  ssize_t n;
  if (req->overflow)
    return nl_fail (err, EMSGSIZE, what, "request too large");
  do
    n = sendto (sock, req->u.bytes, req->u.hdr.nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof kernel);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return nl_fail (err, errno, what, "send to the kernel");
  for (;;)
    {
      struct nlmsghdr *hdr;
      do
        n = recv (sock, reply, sizeof reply, 0);
      while (n < 0 && errno == EINTR);
      if (n < 0)
        return nl_fail (err, errno, what, "read the kernel's answer");
      if (n == 0)
        return nl_fail (err, EPIPE, what, "the kernel closed the socket");
      for (hdr = (struct nlmsghdr *) reply; NLMSG_OK (hdr, (size_t) n); hdr = NLMSG_NEXT (hdr, n))
        {
          struct nlmsgerr *e;
          if (hdr->nlmsg_seq != req->u.hdr.nlmsg_seq || hdr->nlmsg_type != NLMSG_ERROR)
            continue;
          e = NLMSG_DATA (hdr);
          if (e->error == 0)
            return 0;
          return nl_fail (err, -e->error, what, ext_ack_message (hdr, hdr->nlmsg_len));
        }
    }
}
