#!/bin/sh
# The container's entrypoint: `tidings serve` by default, any `tidings` command otherwise.
#
#   (no arguments)          tidings serve
#   --port 9000 ...         tidings serve --port 9000 ...   (flags go to serve)
#   apps create ...         tidings apps create ...         (a tidings command)
#   sh, python, ...         run as given                     (a debugging shell)
#
# A config file mounted at $TIDINGS_CONFIG_MOUNT (default /etc/tidings/tidings.toml) is used
# unless TIDINGS_CONFIG names another. `exec` hands the process over, so SIGTERM from the
# runtime reaches tidings directly and starts its graceful stop.
set -eu

mounted="${TIDINGS_CONFIG_MOUNT:-/etc/tidings/tidings.toml}"
if [ -z "${TIDINGS_CONFIG:-}" ] && [ -f "$mounted" ]; then
    export TIDINGS_CONFIG="$mounted"
fi

data_dir="${TIDINGS_DATA_DIR:-/data}"
if [ ! -d "$data_dir" ] || [ ! -w "$data_dir" ]; then
    echo "error: the data directory $data_dir is missing or not writable by uid $(id -u);" \
        "mount a volume there owned by that user" >&2
    exit 1
fi

if [ "$#" -eq 0 ]; then
    set -- serve
fi
case "$1" in
    -*) exec tidings serve "$@" ;;
    serve | apps | keys | channels | device | schedules | admin | config | trace)
        exec tidings "$@" ;;
    *) exec "$@" ;;
esac
