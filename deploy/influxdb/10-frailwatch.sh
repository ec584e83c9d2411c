#!/bin/bash
# InfluxDB 2.7 first-start initialisation (run once by the image's entrypoint after
# DOCKER_INFLUXDB_INIT_MODE=setup, with the influx CLI already pointed at the new server and
# DOCKER_INFLUXDB_INIT_BUCKET_ID exported). The same layout `frailwatch influx init` makes on 1.x:
#
#  1. one bucket per retention policy of gateway/influx_schema.py, each mapped to the InfluxQL
#     database/policy the gateway writes (v1 /write rp=) and Grafana reads ("ops"."<measurement>"):
#       frailwatch      (the image's bucket)  -> frailwatch/forever, the default: clinical data and dead letters, kept
#       frailwatch/ops  (FW_INFLUX_OPS_RETENTION, 90d) -> frailwatch/ops: heartbeats, station devices
#                        and status, gateway stats
#       frailwatch/raw  (FW_INFLUX_RAW_RETENTION, 30d) -> frailwatch/raw: raw signals, if stored
#     (bucket <database>/<policy> is also the name InfluxDB 2.x/3.x give a v1 database/policy);
#  2. v1 credentials scoped to those buckets: the gateway may write and read (it reads a
#     participant's history for decline detection, DESIGN invariant 4) but administer nothing;
#     Grafana may only read. Neither is the admin token, which stays with the operator.
# Both are usable as `Authorization: Token user:password` or Basic auth on the v1 endpoints.
# Running it again changes nothing (existing buckets, mappings and users are kept).
set -euo pipefail

clinical_id=${DOCKER_INFLUXDB_INIT_BUCKET_ID:?the image exports the bucket id after setup}
database=${FW_INFLUX_DATABASE:?set FW_INFLUX_DATABASE}
ops_retention=${FW_INFLUX_OPS_RETENTION:?set FW_INFLUX_OPS_RETENTION (e.g. 90d)}
raw_retention=${FW_INFLUX_RAW_RETENTION:?set FW_INFLUX_RAW_RETENTION (e.g. 30d)}

if [ "$ops_retention" = "0" ] || [ "$ops_retention" = "INF" ]; then
  echo "frailwatch: FW_INFLUX_OPS_RETENTION must be bounded (e.g. 90d), not '$ops_retention'" >&2
  exit 1
fi

# The id of bucket $1, created with retention $2 if it does not exist yet.
bucket_id() {
  local id
  id=$(influx bucket list --name "$1" --hide-headers 2>/dev/null | awk 'NR == 1 {print $1}')
  if [ -z "$id" ]; then
    id=$(influx bucket create --name "$1" --retention "$2" --hide-headers | awk 'NR == 1 {print $1}')
  fi
  echo "$id"
}

# Map database/policy $1 onto bucket id $2 (extra arguments: --default).
map_policy() {
  local policy=$1 id=$2
  shift 2
  if ! influx v1 dbrp list --db "$database" --rp "$policy" --hide-headers 2>/dev/null | grep -q .; then
    influx v1 dbrp create --db "$database" --rp "$policy" --bucket-id "$id" "$@"
  fi
}

# Create v1 user $1 (password $2) unless it exists; further arguments are its permissions.
v1_user() {
  local user=$1 password=$2
  shift 2
  if ! influx v1 auth list --username "$user" --hide-headers 2>/dev/null | grep -q .; then
    influx v1 auth create --username "$user" --password "$password" "$@"
  fi
}

ops_id=$(bucket_id "${database}/ops" "$ops_retention")
raw_id=$(bucket_id "${database}/raw" "$raw_retention")

map_policy forever "$clinical_id" --default
map_policy ops "$ops_id"
map_policy raw "$raw_id"

v1_user "${FW_INFLUX_GATEWAY_USER:?}" "${FW_INFLUX_GATEWAY_PASSWORD:?}" \
  --write-bucket "$clinical_id" --write-bucket "$ops_id" --write-bucket "$raw_id" \
  --read-bucket "$clinical_id" --read-bucket "$ops_id" --read-bucket "$raw_id" \
  --description "frailwatch gateway: write+read ${database} only"

v1_user "${FW_INFLUX_GRAFANA_USER:?}" "${FW_INFLUX_GRAFANA_PASSWORD:?}" \
  --read-bucket "$clinical_id" --read-bucket "$ops_id" --read-bucket "$raw_id" \
  --description "grafana: read ${database} only"

echo "frailwatch: DBRP ${database}/forever (default) -> ${clinical_id}, ${database}/ops (${ops_retention})" \
  "-> ${ops_id}, ${database}/raw (${raw_retention}) -> ${raw_id}; v1 users for gateway (rw) and grafana (ro)"
