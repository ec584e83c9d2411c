#!/usr/bin/env bash
# Make a private CA and the central broker's TLS certificate (stations verify the broker with ca.crt).
#
# Usage: deploy/certs/make-certs.sh [DIR] [EXTRA_SAN ...]
#   DIR defaults to deploy/certs/generated; EXTRA_SAN are more names stations use to reach the
#   broker (e.g. DNS:mqtt.example.org or IP:203.0.113.7). The broker is always valid for
#   DNS:mosquitto (inside compose), DNS:localhost and IP:127.0.0.1.
# Idempotent: an existing CA is kept (stations already trust it); the server certificate is
# re-issued. Keys are written 0600 and never leave DIR.
set -euo pipefail
dir=${1:-"$(dirname "$0")/generated"}
shift || true
mkdir -p "$dir"
cd "$dir"
umask 077

if [[ ! -s ca.key || ! -s ca.crt ]]; then
  openssl req -x509 -new -newkey rsa:3072 -nodes -sha256 -days 3650 \
    -subj "/O=FrailWatch/CN=FrailWatch private CA" \
    -keyout ca.key -out ca.crt 2>/dev/null
fi

san="DNS:mosquitto,DNS:localhost,IP:127.0.0.1"
for extra in "$@"; do
  san="$san,$extra"
done
openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/O=FrailWatch/CN=mosquitto" \
  -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' "$san" > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -sha256 \
  -extfile server.ext -out server.crt 2>/dev/null
rm -f server.csr server.ext ca.srl
# The broker runs as uid 1883 inside its container and must read its key; the CA key stays private.
chmod 644 ca.crt server.crt
chmod 600 ca.key
if [[ $(id -u) -eq 0 ]]; then
  chown 1883:1883 server.key && chmod 600 server.key
else
  chmod 644 server.key  # cannot chown as a user: readable, so keep DIR itself private
fi
echo "make-certs: CA and broker certificate ($san) in $(pwd)"
