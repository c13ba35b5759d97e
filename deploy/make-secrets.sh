#!/bin/sh
# The secrets docker-compose.yml reads, made once, outside the checkout: a broker administrator
# with a random password (RabbitMQ's conf.d file, which replaces guest) and the hub's AMQP URL.
#   sh deploy/make-secrets.sh                 # into ~/.config/lienthong/compose
#   LT_SECRETS_DIR=/srv/secrets sh deploy/make-secrets.sh
# The directory is private to you (700); the files in it are readable by the containers' users
# (RabbitMQ's uid 999, lienthong's uid 1000), which compose mounts them for. Existing files are
# kept: the broker takes the administrator only at its first start.
set -eu
dir="${LT_SECRETS_DIR:-$HOME/.config/lienthong/compose}"
user=lienthong-admin
umask 077
mkdir -p "$dir"
chmod 700 "$dir"
if [ -s "$dir/broker-admin-password" ]; then
  echo "make-secrets: $dir already has the secrets; kept"
  exit 0
fi
# Letters and digits only: the password goes into a URL and a RabbitMQ configuration file unquoted.
password="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
umask 022
printf '%s\n' "$password" > "$dir/broker-admin-password"
printf 'default_user = %s\ndefault_pass = %s\n' "$user" "$password" > "$dir/broker-admin.conf"
printf 'amqp://%s:%s@rabbitmq:5672\n' "$user" "$password" > "$dir/hub-amqp-url"
echo "make-secrets: wrote $dir/broker-admin.conf, broker-admin-password and hub-amqp-url"
