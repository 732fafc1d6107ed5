#!/bin/bash
# Installs what is missing, builds famez and runs famezd in the foreground on its default
# configuration (4M of memfd shared memory, 1 vector, the default socket path, which it prints).
# Options are passed to famezd: tools/run.sh --vectors 4 --shm-size 64M
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec build/src/famezd/famezd "$@"
