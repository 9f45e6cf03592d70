#!/bin/sh
# Runs a command in a private network namespace whose only interface is a loopback of its own, so
# WebRTC between Chromium and the SFU uses 127.0.0.1 and no packet can leave the machine.
# Chromium gathers no 127.0.0.1 ICE candidates unless started with --allow-loopback-in-peer-connection
# (see packages/test-support). Needs root or user namespaces: `unshare -rn` is tried as a fallback.
set -eu
if [ "${MYTAEK1_IN_NETNS:-}" = 1 ]; then exec "$@"; fi
inner='ip link set lo up && MYTAEK1_IN_NETNS=1 exec "$@"'
if [ "$(id -u)" = 0 ]; then exec unshare --net -- sh -c "$inner" sh "$@"; fi
exec unshare --map-root-user --net -- sh -c "$inner" sh "$@"
