#ifndef CONTAINR_NETLINK_H
#define CONTAINR_NETLINK_H
/* rtnetlink requests for bridge networking (csrc/lib/netlink-*.c, crun
   style: one file per area). Every function returns 0 (or a value >= 0) or
   -errno, and on failure writes "what failed (the kernel's extended ack)"
   into the caller's err buffer; the TypeScript side adds the errno's name. */
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/* The error context a request fills in on failure. */
struct nl_error
{
  char *buf;
  size_t len;
};

/* One request being built: header, family message, attributes. */
struct nl_request
{
  union
  {
    struct nlmsghdr hdr;
    char bytes[2048];
  } u;
  int overflow;
};

/* netlink-socket.c */
int nl_open (struct nl_error *err);
/* Send the request and wait for its ACK; -errno with what + the kernel's message. */
int nl_transact (int sock, struct nl_request *req, const char *what, struct nl_error *err);
/* Format err as "what" or "what (detail)"; returns -errnum. */
int nl_fail (struct nl_error *err, int errnum, const char *what, const char *detail);

void nl_init (struct nl_request *req, uint16_t type, uint16_t flags, const void *body, size_t body_len);
void nl_put (struct nl_request *req, uint16_t type, const void *data, size_t len);
void nl_put_u32 (struct nl_request *req, uint16_t type, uint32_t value);
void nl_put_str (struct nl_request *req, uint16_t type, const char *value);
/* Open a nested attribute; close it with nl_nest_end (its length is fixed up then). */
struct nlattr *nl_nest_begin (struct nl_request *req, uint16_t type);
void nl_nest_end (struct nl_request *req, struct nlattr *nest);

/* netlink-link.c (in the calling thread's network namespace) */
int nl_link_index (const char *name, struct nl_error *err);
int nl_link_up (int sock, int index, const char *name, struct nl_error *err);

/* netlink-addr.c */
int nl_addr_add (int sock, int index, uint32_t address, int prefix, const char *name, int exist_ok, struct nl_error *err);
int nl_route_default (int sock, int index, uint32_t gateway, struct nl_error *err);

#endif
