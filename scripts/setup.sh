#!/usr/bin/env bash
# Install everything FrailWatch needs on a fresh Debian/Ubuntu box (run as root or with sudo):
# Debian packages for the real servers the tests and the demo start, uv, and the locked Python deps.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium, fonts-noto-cjk and poppler-utils: the station page's browser tests (headless Chromium
# with Korean fonts, pdfinfo/pdftotext on its printed report).
APT_PACKAGES=(mosquitto mosquitto-clients influxdb docker-compose chromium fonts-noto-cjk poppler-utils)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages may start system-wide services; FrailWatch runs its own on free ports instead.
  for svc in mosquitto influxdb; do
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

if ! python3 -m uv --version >/dev/null 2>&1; then
  echo "setup: installing uv"
  python3 -m pip install --quiet --disable-pip-version-check uv 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages uv
fi

# Never let uv fetch a Python build: use the machine's python3 (>= 3.11).
export UV_PYTHON_DOWNLOADS=never
python3 -m uv sync --locked --all-extras --quiet
