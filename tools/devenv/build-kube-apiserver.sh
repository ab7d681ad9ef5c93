#!/usr/bin/env bash
# Build kube-apiserver 1.20.2 from Debian's source package and cache it outside the repo.
#
# Why: no kube-apiserver binary is packaged for Debian and the machines reach no other
# download site. Debian's source package vendors every dependency, so it builds offline.
# The vendored modern-go/reflect2 1.0.1 crashes (SIGSEGV in mapiternext) under Go >= 1.18
# whenever a custom resource holding a map is serialised, so it is swapped for 1.0.2.
set -euo pipefail
cache="${ASYNCSO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/asyncso}"
out="$cache/bin/kube-apiserver"
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi
here="$(cd "$(dirname "$0")" && pwd)"
"$here/install-system.sh"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi

# A deb-src entry for bookworm, so that 'apt-get source' works.
if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "devenv: adding a deb-src entry for bookworm" >&2
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    | $SUDO tee /etc/apt/sources.list.d/asyncso-deb-src.sources >/dev/null
  $SUDO apt-get update -qq
fi

work="$cache/build"
rm -rf "$work"
mkdir -p "$work" "$cache/bin"
cd "$work"
echo "devenv: fetching Debian source package 'kubernetes'" >&2
if ! apt-get source -qq --download-only kubernetes >&2 || ! dpkg-source -x --no-check kubernetes_*.dsc src >&2; then
  echo "devenv: ERROR: could not fetch/unpack the Debian source package 'kubernetes' (needs a deb-src entry)" >&2
  exit 1
fi
tree="$work/src"
reflect2_src=/usr/share/gocode/src/github.com/modern-go/reflect2
if [ ! -d "$reflect2_src" ]; then
  echo "devenv: ERROR: $reflect2_src missing (package golang-github-modern-go-reflect2-dev)" >&2
  exit 1
fi
rm -rf "$tree/vendor/github.com/modern-go/reflect2"
cp -r "$reflect2_src" "$tree/vendor/github.com/modern-go/reflect2"
rm -f "$tree/vendor/github.com/modern-go/reflect2/go.mod" "$tree/vendor/github.com/modern-go/reflect2/go.sum"
mkdir -p "$tree/.go/src/k8s.io"
ln -sfn "$tree" "$tree/.go/src/k8s.io/kubernetes"
echo "devenv: building kube-apiserver (about 5 minutes on 2 cores)" >&2
cd "$tree/.go/src/k8s.io/kubernetes"
export GOPATH="$tree/.go" CGO_ENABLED=0 GOFLAGS=-mod=vendor GO111MODULE=off GOCACHE="$work/gocache"
if ! make WHAT=cmd/kube-apiserver >&2; then
  echo "devenv: ERROR: building kube-apiserver failed" >&2
  exit 1
fi
bin="$(find "$tree/_output" -type f -name kube-apiserver -perm -u+x | head -n1)"
if [ -z "$bin" ]; then
  echo "devenv: ERROR: build finished but no kube-apiserver binary was found" >&2
  exit 1
fi
install -m 0755 "$bin" "$out.tmp"
mv "$out.tmp" "$out"
cd "$cache"
rm -rf "$work"
echo "$out"
