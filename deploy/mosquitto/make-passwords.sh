#!/bin/sh
# Build Mosquitto's hashed password file from MQTT_USER_<NAME>=<password> environment variables.
#
# <NAME> is the MQTT username upper-cased with '-' written as '_' (station ids are lower-case
# letters, digits and hyphens, so the mapping is one-to-one): MQTT_USER_NAM_01 -> user "nam-01".
# Runs in the broker-init container before Mosquitto starts, so passwords live only in .env and
# the hashed file on the broker's private volume, never in the repository.
# Usage: make-passwords.sh [OUTPUT_FILE]   (default /mosquitto/auth/passwords)
set -eu
out=${1:-/mosquitto/auth/passwords}
tmp="$out.new"
rm -f "$tmp"
: > "$tmp"
chmod 600 "$tmp"
count=0
for var in $(env | sed -n 's/^\(MQTT_USER_[A-Z0-9_]*\)=.*$/\1/p' | sort); do
  user=$(printf '%s' "${var#MQTT_USER_}" | tr 'A-Z_' 'a-z-')
  eval "password=\${$var}"
  if [ -z "$password" ]; then
    echo "make-passwords: $var is empty; set it in .env" >&2
    exit 1
  fi
  mosquitto_passwd -b "$tmp" "$user" "$password"
  count=$((count + 1))
done
if [ "$count" -eq 0 ]; then
  echo "make-passwords: no MQTT_USER_* variables set" >&2
  exit 1
fi
# Mosquitto 2 wants its password file private to the broker's user.
chown 1883:1883 "$tmp" 2>/dev/null || true
mv "$tmp" "$out"
echo "make-passwords: wrote $count users to $out"
