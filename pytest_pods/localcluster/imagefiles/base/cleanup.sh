#!/bin/sh
# Runs inside a Debian-based stand-in's root filesystem before it is packed (and once in the base):
# drop what a container does not need. With KEEP_APT_LISTS=1 (the base) the package lists stay,
# so that the images built from it install packages without downloading the lists again.
set -eu

apt-get clean
if [ "${KEEP_APT_LISTS:-}" != 1 ]; then
    rm -rf /var/lib/apt/lists/*
fi
rm -f /var/cache/apt/*.bin /var/cache/debconf/*-old /var/lib/dpkg/*-old
rm -rf /var/log/apt/* /var/log/dpkg.log /var/log/alternatives.log /var/log/bootstrap.log
rm -rf /tmp/* /var/tmp/* /root/.cache

# the same as dpkg.cfg.d/pytest-pods-slim, for what was installed before it was in place
find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find /usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian/*
find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
