#!/usr/bin/env bash
# One-time preparation of a docker compose deployment:
#   1. .env from .env.example with every CHANGE_ME replaced by a fresh random secret
#      (an existing .env is left alone: its secrets are already in the volumes), and
#   2. the private CA and broker certificate (deploy/certs/make-certs.sh).
# Usage: deploy/init.sh [EXTRA_SAN ...]   e.g. deploy/init.sh DNS:mqtt.example.org
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [[ -e .env ]]; then
  echo "init: .env exists, keeping it"
else
  umask 077
  while IFS= read -r line; do
    while [[ $line == *CHANGE_ME* ]]; do
      secret=$(openssl rand -hex 24)
      line=${line/CHANGE_ME/$secret}
    done
    printf '%s\n' "$line"
  done < .env.example > .env
  echo "init: wrote .env with random secrets (mode 600)"
fi

certs_dir=$(sed -n 's/^FW_CERTS_DIR=//p' .env | tail -n 1)
deploy/certs/make-certs.sh "${certs_dir:-./deploy/certs/generated}" "$@"
echo "init: now run: docker compose up -d --build"
