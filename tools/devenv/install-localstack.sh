#!/usr/bin/env bash
# Install LocalStack (host mode, no Docker) into its own venv on Python >= 3.13.
#
# Why a separate venv: localstack-core pins a botocore that conflicts with aiobotocore's,
# and it needs Python >= 3.13. The extra pins are the set verified to start here.
#
# flask and flask-cors: LocalStack's emulator engine (moto, bundled as moto-ext) has a server of
# its own, `moto_server`, which needs them. The bench starts it beside LocalStack for the
# services that LocalStack's community build refuses, ECR among them (docs/operations.md).
set -euo pipefail
cache="${ASYNCSO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/asyncso}"
venv="$cache/localstack-venv"
# The marker names what is installed; a new name makes existing caches install again.
marker="$venv/.asyncso-localstack-2026.3.0-moto-server"
previous="$venv/.asyncso-localstack-2026.3.0"
moto_server_pins=('flask==3.1.3' 'flask-cors==6.0.5')
if [ -f "$marker" ]; then
  echo "$venv/bin/python"
  exit 0
fi
# A cache made by the previous version of this script lacks only moto_server's packages: add
# them in place rather than rebuild the venv (a LocalStack may be running from it right now).
if [ -f "$previous" ] && [ -x "$venv/bin/pip" ]; then
  echo "devenv: adding moto_server's packages to $venv" >&2
  if "$venv/bin/pip" install -q --disable-pip-version-check "${moto_server_pins[@]}" >&2; then
    touch "$marker"
    echo "$venv/bin/python"
    exit 0
  fi
  echo "devenv: could not add them in place; installing the venv again" >&2
fi
py=""
for cand in "${LOCALSTACK_PYTHON:-}" python3.13 python3.14 "$HOME/.pyenv/versions/3.13.0/bin/python3.13"; do
  [ -n "$cand" ] || continue
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' 2>/dev/null; then
    py="$(command -v "$cand")"
    break
  fi
done
if [ -z "$py" ] && command -v pyenv >/dev/null 2>&1; then
  for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[3-9])' || true); do
    cand="$(pyenv root)/versions/$v/bin/python3"
    if [ -x "$cand" ]; then py="$cand"; break; fi
  done
fi
if [ -z "$py" ]; then
  echo "devenv: ERROR: LocalStack needs Python >= 3.13 and none was found (set LOCALSTACK_PYTHON, or install it with pyenv)" >&2
  exit 1
fi
rm -rf "$venv"
mkdir -p "$cache"
"$py" -m venv "$venv"
echo "devenv: installing localstack-core into $venv (with $py)" >&2
if ! "$venv/bin/pip" install -q --disable-pip-version-check \
    'localstack-core[runtime]==2026.3.0' 'cbor2==5.7.1' 'cryptography==44.0.3' \
    'pyopenssl==24.3.0' 'joserfc<1.1' 'service_identity<24.3' "${moto_server_pins[@]}" >&2; then
  echo "devenv: ERROR: pip could not install localstack-core[runtime]==2026.3.0" >&2
  exit 1
fi
touch "$marker"
echo "$venv/bin/python"
