#!/bin/sh
# Registers the two demo agencies in the hub directory (idempotent) and writes each edge's
# AMQP URL, with the generated broker password and the token of its queue names, to
# $LT_SECRETS (a volume shared with the edges), so that no password is ever written into a
# committed file. An edge gets its own URL only, never the broker administrator's.
set -eu
secrets="${LT_SECRETS:-/run/lienthong}"
config="${LT_HUB_CONFIG:-deploy/hub.json}"
mkdir -p "$secrets"
for agency in "000.00.01.H12|Văn phòng UBND tỉnh Cà Mau" "000.00.05.H12|Sở Tài chính tỉnh Cà Mau"; do
  id="${agency%%|*}"
  name="${agency#*|}"
  if [ -s "$secrets/$id.url" ]; then
    echo "provision: $id already provisioned"
    continue
  fi
  node bin/lienthong.js agency add "$id" --name "$name" --config "$config" \
    --write-url "$secrets/$id.url" --url-host "${LT_BROKER_HOST:-rabbitmq}"
done
