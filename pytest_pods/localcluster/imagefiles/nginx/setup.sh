#!/bin/sh
# Runs inside the image's root filesystem after the packages are installed.
set -eu

# the official image runs its workers as "nginx"
if ! getent passwd nginx >/dev/null; then
    groupadd --system nginx
    useradd --system --gid nginx --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --comment "nginx user" nginx
fi

# Debian's default site would shadow conf.d/default.conf
rm -f /etc/nginx/sites-enabled/default

# logs go to the container's output
mkdir -p /var/log/nginx
ln -sf /dev/stdout /var/log/nginx/access.log
ln -sf /dev/stderr /var/log/nginx/error.log

chmod 0755 /docker-entrypoint.sh /docker-entrypoint.d/*.sh
