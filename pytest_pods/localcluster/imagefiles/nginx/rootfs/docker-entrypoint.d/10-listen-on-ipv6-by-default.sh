#!/bin/sh
# Also listen on IPv6 in the default server when the container has IPv6.
set -e

me=$(basename "$0")
conf=/etc/nginx/conf.d/default.conf

if [ ! -f "$conf" ]; then
    echo "$me: info: $conf is missing, nothing to do"
elif [ ! -f /proc/net/if_inet6 ]; then
    echo "$me: info: IPv6 is not available, listening on IPv4 only"
elif grep -q 'listen *\[::\]:80;' "$conf"; then
    echo "$me: info: $conf already listens on IPv6"
elif ! touch "$conf" 2>/dev/null; then
    echo "$me: info: $conf is not writable, listening on IPv4 only"
else
    sed -i 's/^\( *\)listen  *80;$/&\n\1listen  [::]:80;/' "$conf"
    echo "$me: info: Enabled listen on IPv6 in $conf"
fi
