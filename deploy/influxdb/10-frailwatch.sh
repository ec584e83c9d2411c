#!/bin/bash
# InfluxDB 2.7 first-start initialisation (run once by the image's entrypoint after
# DOCKER_INFLUXDB_INIT_MODE=setup, with the influx CLI already pointed at the new server and
# DOCKER_INFLUXDB_INIT_BUCKET_ID exported).
#
# FrailWatch speaks InfluxQL and the v1 write API everywhere (they work on 1.x, 2.x and 3.x), so:
#  1. map the v1 database/retention policy onto the bucket (DBRP), and
#  2. create v1 credentials scoped to that one bucket: the gateway may write and read (it reads a
#     participant's history for decline detection, DESIGN invariant 4) but administer nothing;
#     Grafana may only read. Neither is the admin token, which stays with the operator.
# Both are usable as `Authorization: Token user:password` or Basic auth on the v1 endpoints.
set -euo pipefail

bucket_id=${DOCKER_INFLUXDB_INIT_BUCKET_ID:?the image exports the bucket id after setup}
database=${FW_INFLUX_DATABASE:?set FW_INFLUX_DATABASE}

influx v1 dbrp create --db "$database" --rp autogen --bucket-id "$bucket_id" --default

influx v1 auth create \
  --username "${FW_INFLUX_GATEWAY_USER:?}" --password "${FW_INFLUX_GATEWAY_PASSWORD:?}" \
  --write-bucket "$bucket_id" --read-bucket "$bucket_id" \
  --description "frailwatch gateway: write+read ${database} only"

influx v1 auth create \
  --username "${FW_INFLUX_GRAFANA_USER:?}" --password "${FW_INFLUX_GRAFANA_PASSWORD:?}" \
  --read-bucket "$bucket_id" \
  --description "grafana: read ${database} only"

echo "frailwatch: DBRP ${database}/autogen -> bucket ${bucket_id}; v1 users for gateway (rw) and grafana (ro)"
