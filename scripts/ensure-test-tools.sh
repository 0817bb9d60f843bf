#!/bin/sh
# The test suite drives real tools from Debian's packages. This installs the missing ones (as
# root, with apt-get) or stops, naming what to install. Tests never skip for a missing tool.
set -eu
TOOLS="dig:bind9-dnsutils dnsmasq:dnsmasq-base ip:iproute2 etcd:etcd-server etcdctl:etcd-client systemd-analyze:systemd python3:python3-minimal setpriv:util-linux script:bsdutils"
need=""
for pair in $TOOLS; do
  tool=${pair%%:*}
  pkg=${pair#*:}
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then need="$need $pkg"; fi
done
# Tools this script names but never installs: /usr/bin/kubectl may belong to another package
# (the Google Cloud SDK's kubectl dispatcher), which installing kubernetes-client would replace.
for pair in kubectl:kubernetes-client; do
  tool=${pair%%:*}
  pkg=${pair#*:}
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "ensure-test-tools: the tests need $tool; install it (Debian: apt-get install -y $pkg)" >&2
    exit 1
  fi
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: installing$need"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$need >/dev/null
else
  echo "ensure-test-tools: the tests need these Debian packages:$need" >&2
  echo "install them with: sudo apt-get install -y$need" >&2
  exit 1
fi
