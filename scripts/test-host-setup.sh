#!/usr/bin/env bash
# Installs, from Debian's archive, what the test suite uses on a fresh machine.
# Called by scripts/test.ts (npm test) when running as root; a no-op when all
# packages are present.
#   build-essential     C compiler and static libc for csrc/
#   busybox-static      the root filesystem of every test image and bundle
#   uidmap              newuidmap/newgidmap for rootless tests
#   docker-registry     the registry the tests start on 127.0.0.1
#   apache2-utils       htpasswd for the basic-auth registry
#   tar gzip zstd       GNU tar (reference extractions), compressed layers
#   openssl             certificates for the token-auth registry
#   iproute2 tmux       network checks (ip, also inside test containers' checks), a terminal for -t tests
#   nftables            nft: bridge networking's NAT and port rules (the engine runs it)
#   util-linux          unshare/nsenter for the netlink integration test
#   podman              drives `containr-oci` as its --runtime in tests/e2e/podman.test.ts
set -euo pipefail
packages=(build-essential busybox-static uidmap docker-registry apache2-utils tar gzip zstd openssl iproute2 nftables util-linux tmux podman)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing test packages: ${missing[*]}" >&2
apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
