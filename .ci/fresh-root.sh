#!/usr/bin/env bash
# A new user's machine, for CI and by hand: runs COMMAND in a fresh Debian 12 (minbase) root that
# holds only Node and npm (copied from this machine), in a clean clone of this repository's
# committed HEAD at /root/project. Nothing installed on this machine, no build output and no file
# outside the repository is visible there, so an install step that the project forgets fails here.
#
#   bash .ci/fresh-root.sh 'bash scripts/install-deps.sh && npm install && npm test'
#
# Needs root (debootstrap, chroot, bind mounts). The debootstrapped base is made once and cached in
# $ALEXNET_FRESH_BASE (default /var/tmp/alexnet-debian12-base); each run works on a copy of it, so
# nothing a run installs is kept. ALEXNET_FRESH_KEEP=1 keeps the copy for a look afterwards.
# ALEXNET_FRESH_COPY='FILE ...' copies those files from this machine into /root/ there (e.g. a packed
# tarball that holds prebuilt binaries); nothing else from outside the repository goes in.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 'COMMAND'" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (debootstrap, chroot, bind mounts)" >&2; exit 2; }
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
base=${ALEXNET_FRESH_BASE:-/var/tmp/alexnet-debian12-base}

# The apt mirror this machine uses (deb822 .sources first, then the one-line format).
apt_mirror() {
  local m
  m=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  [ -n "$m" ] || m=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
  echo "${m:-http://deb.debian.org/debian}"
}

if [ ! -x "$base/usr/bin/apt-get" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  rm -rf "$base.partial"
  debootstrap --variant=minbase bookworm "$base.partial" "$(apt_mirror)" >/dev/null
  # The same sources as this machine (security updates included), as a user's machine would have.
  cp /etc/apt/sources.list.d/*.sources "$base.partial/etc/apt/sources.list.d/" 2>/dev/null || true
  mv "$base.partial" "$base"
fi

root=$(mktemp -d /var/tmp/alexnet-fresh.XXXXXX)
finish() {
  for m in dev/pts dev sys proc; do umount -l "$root/$m" 2>/dev/null || true; done
  if [ "${ALEXNET_FRESH_KEEP:-0}" = 1 ]; then echo "fresh root kept at $root" >&2; else rm -rf "$root"; fi
}
trap finish EXIT
cp -a "$base/." "$root/"

# Name resolution and this machine's CA bundle (registries may sit behind a proxy with its own CA),
# kept in a file of its own that Debian's ca-certificates package does not rewrite.
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ci-ca-bundle.crt"
# Node and npm, as on the machines the README is for.
cp "$(command -v node)" "$root/usr/local/bin/node"
npm_root=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_root" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
# Registry settings only (which registry, its certificate), never packages.
[ -f "$HOME/.npmrc" ] && cp "$HOME/.npmrc" "$root/root/.npmrc"
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"

git clone -q "$repo" "$root/root/project"
for file in ${ALEXNET_FRESH_COPY:-}; do
  [ -f "$file" ] || { echo "$0: ALEXNET_FRESH_COPY: $file is not a file" >&2; exit 2; }
  cp "$file" "$root/root/"
done
for m in proc sys dev dev/pts; do mkdir -p "$root/$m"; mount --bind "/$m" "$root/$m"; done
chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
  NODE_EXTRA_CA_CERTS=/etc/ci-ca-bundle.crt SSL_CERT_FILE=/etc/ci-ca-bundle.crt PIP_CERT=/etc/ci-ca-bundle.crt \
  npm_config_cafile=/etc/ci-ca-bundle.crt CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
  ${PIP_INDEX_URL:+PIP_INDEX_URL=$PIP_INDEX_URL} ${PIP_FIND_LINKS:+PIP_FIND_LINKS=$PIP_FIND_LINKS} \
  bash -lc "cd /root/project && $1"
