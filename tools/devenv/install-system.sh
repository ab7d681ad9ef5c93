#!/usr/bin/env bash
# Install the Debian packages the test bench needs (etcd, Go toolchain for building
# kube-apiserver, reflect2 1.0.2 sources). Idempotent; skips apt when all are present.
set -euo pipefail
pkgs=(etcd-server golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev curl ca-certificates)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "devenv: installing Debian packages: ${missing[*]}" >&2
if ! $SUDO apt-get update -qq; then
  echo "devenv: ERROR: 'apt-get update' failed; cannot install ${missing[*]}" >&2
  exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
  echo "devenv: ERROR: could not install Debian packages: ${missing[*]}" >&2
  exit 1
fi
