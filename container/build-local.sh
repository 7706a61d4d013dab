#!/bin/sh
# Build the Tidings image with podman where no container registry can be reached: the base is a
# Debian bookworm made here with debootstrap (Debian's package mirror must be reachable), and the
# Python packages are wheels built on this machine, so the build itself needs no network.
#
#   container/build-local.sh [IMAGE]        (default localhost/tidings; run from anywhere, as root)
#
# Then run it as docs/operations.md#containers says, with the ulimit options printed at the end.
# Needs: podman, debootstrap, runc (apt-get install podman debootstrap runc) and a CPython 3.11
# (PYTHON, default python3) whose pip can reach the project's dependencies: Debian bookworm's
# Python is 3.11, and the wheels must be built for it.
set -eu

image="${1:-localhost/tidings}"
base="${TIDINGS_BASE_IMAGE:-localhost/tidings-base-bookworm}"
python="${PYTHON:-python3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${TIDINGS_BUILD_DIR:-/var/tmp/tidings-build}"

# Container runtimes set the container's resource limits, and may only lower them: podman's
# defaults (nproc 4194304, nofile 1048576) are refused where the runtime's own limits are lower
# ("error setting rlimit type 6: operation not permitted"). These stay within them.
nofile="$(ulimit -Hn)"
[ "$nofile" = unlimited ] && nofile=1048576
ulimits="--ulimit nofile=$nofile:$nofile --ulimit nproc=4096:4096"

"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "need CPython 3.11"'

if ! podman image exists "$base"; then
    echo "making the base image $base with debootstrap" >&2
    mkdir -p "$work"
    rm -rf "$work/rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$work/rootfs" http://deb.debian.org/debian
    rm -rf "$work/rootfs/var/cache/apt/archives"/*.deb "$work/rootfs/var/lib/apt/lists"/*
    tar -C "$work/rootfs" -c . | podman import --change 'CMD ["/bin/sh"]' - "$base"
    rm -rf "$work/rootfs"
fi

echo "building wheels into container/wheels" >&2
rm -rf "$root/container/wheels"
# async-timeout: redis needs it on Python before 3.11.3, and bookworm has 3.11.2.
"$python" -m pip wheel --quiet --wheel-dir "$root/container/wheels" "$root" \
    "hatchling>=1.25" "async-timeout>=4.0.3"

# shellcheck disable=SC2086 # $ulimits is several options
podman build $ulimits --format docker \
    --build-arg BASE="$base" \
    --build-arg PIP_OPTIONS="--no-index --find-links /src/container/wheels" \
    -t "$image" -f "$root/Containerfile" "$root"

echo "built $image; run it with: podman run $ulimits -d -p 8080:8080 -v tidings-data:/data $image"
