#!/usr/bin/env bash
# Build the Go text/template + sprig oracle (tools/gooracle/main.go) and cache it outside the repo.
#
# Why: the Go-template engine is tested against Go's own text/template with sprig, the functions
# ESO runs. Debian packages sprig (3.2.3, GOPATH layout); `else with` needs Go >= 1.23, which
# bookworm has only in bookworm-backports (golang-1.23-go), so that suite is added when missing.
# Prints the binary's path. Rebuilt when main.go changes (its hash is in the file name).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../gooracle/main.go"
cache="${ASYNCSO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/asyncso}"
sum="$(sha256sum "$src" | cut -c1-12)"
out="$cache/bin/gotemplate-oracle-$sum"
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
go=/usr/lib/go-1.23/bin/go
sprig=/usr/share/gocode/src/github.com/Masterminds/sprig
if [ ! -x "$go" ] || [ ! -d "$sprig" ]; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "devenv: adding bookworm-backports (for golang-1.23-go)" >&2
    echo 'deb http://deb.debian.org/debian bookworm-backports main' \
      | $SUDO tee /etc/apt/sources.list.d/asyncso-backports.list >/dev/null
  fi
  $SUDO apt-get update -qq >&2
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      -t bookworm-backports golang-1.23-go >&2 \
    || ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      golang-github-masterminds-sprig-dev >&2; then
    echo "devenv: ERROR: could not install golang-1.23-go / golang-github-masterminds-sprig-dev" >&2
    exit 1
  fi
fi
mkdir -p "$cache/bin" "$cache/gocache"
tmp="$out.tmp.$$"
GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE="$cache/gocache" GOFLAGS= \
  "$go" build -o "$tmp" "$src" >&2
mv "$tmp" "$out"
echo "$out"
