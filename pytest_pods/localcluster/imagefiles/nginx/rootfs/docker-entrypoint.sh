#!/bin/sh
# pytest-pods stand-in for the nginx image's entry point: when the command is nginx, run the
# configuration scripts in /docker-entrypoint.d/ (logging each step), then exec the command.
set -e

say() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$0: $*"
    fi
}

if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
    if [ -n "$(ls -A /docker-entrypoint.d/ 2>/dev/null)" ]; then
        say "/docker-entrypoint.d/ is not empty, will attempt to perform configuration"
        say "Looking for shell scripts in /docker-entrypoint.d/"
        for script in /docker-entrypoint.d/*; do
            case "$script" in
                *.envsh)
                    if [ -x "$script" ]; then
                        say "Sourcing $script"
                        . "$script"
                    else
                        say "Ignoring $script, not executable"
                    fi
                    ;;
                *.sh)
                    if [ -x "$script" ]; then
                        say "Launching $script"
                        "$script"
                    else
                        say "Ignoring $script, not executable"
                    fi
                    ;;
                *)
                    say "Ignoring $script"
                    ;;
            esac
        done
        say "Configuration complete; ready for start up"
    else
        say "No files found in /docker-entrypoint.d/, skipping configuration"
    fi
fi

exec "$@"
