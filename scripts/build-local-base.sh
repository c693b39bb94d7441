#!/usr/bin/env bash
# Builds a Debian bookworm base image with debootstrap + `docker import`, for machines that reach a Debian mirror but no container registry.
set -euo pipefail

IMAGE="${LOCAL_BASE_IMAGE:-multiclaude-base:bookworm}"
SUITE="bookworm"
# Everything the MCP image needs is installed here, so its Dockerfile never has to run apt (no network in `docker build`).
PACKAGES="git,nodejs,python3,make,bash,ca-certificates,procps,coreutils,findutils,grep,sed,less"
FORCE=0
MIRROR="${DEBIAN_MIRROR:-}"

usage() {
  cat <<EOF
Usage: scripts/build-local-base.sh [--force] [--image NAME] [--mirror URL] [--packages LIST]

Builds the image ${IMAGE} from a debootstrap of Debian ${SUITE} (variant minbase) with:
  ${PACKAGES//,/ }
Needs root, debootstrap and a running Docker engine; does nothing if the image exists.

  --force        rebuild even if the image already exists
  --image NAME   tag to give the image (env LOCAL_BASE_IMAGE; default multiclaude-base:bookworm)
  --mirror URL   Debian mirror (env DEBIAN_MIRROR; default: from apt's sources, else http://deb.debian.org/debian)
  --packages LIST  comma-separated packages to include instead (e.g. the PostgreSQL image's base)
  -h, --help     show this help
EOF
}

die() {
  echo "build-local-base: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --image) [ $# -ge 2 ] || die "--image needs a value"; IMAGE="$2"; shift ;;
    --mirror) [ $# -ge 2 ] || die "--mirror needs a value"; MIRROR="$2"; shift ;;
    --packages) [ $# -ge 2 ] || die "--packages needs a value"; PACKAGES="$2"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

command -v docker >/dev/null 2>&1 || die "docker is not installed (Debian: apt-get install docker.io)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
  die "the Docker engine is not reachable (is dockerd running? try: dockerd &)"

if [ "$FORCE" -eq 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "build-local-base: ${IMAGE} already exists (use --force to rebuild)"
  exit 0
fi

command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (Debian: apt-get install debootstrap)"
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"

# The mirror apt already uses is the one known to be reachable from this machine.
if [ -z "$MIRROR" ]; then
  MIRROR="$(
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
      grep -oE '(https?)://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ' || true
  )"
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
fi

ROOTFS="$(mktemp -d /tmp/multiclaude-base.XXXXXX)"
cleanup() {
  # debootstrap may leave /proc or /sys mounted in the target after a failure; unmount before deleting.
  for mountpoint in "$ROOTFS/proc" "$ROOTFS/sys" "$ROOTFS/dev/pts"; do
    if mountpoint -q "$mountpoint" 2>/dev/null; then umount -l "$mountpoint" || true; fi
  done
  rm -rf --one-file-system "$ROOTFS"
}
trap cleanup EXIT

echo "build-local-base: debootstrap ${SUITE} from ${MIRROR} into ${ROOTFS}"
start=$SECONDS
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR"

# Trim what an image never needs: apt lists and caches, docs; keeps the import small.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/*

echo "build-local-base: importing as ${IMAGE}"
tar --numeric-owner -C "$ROOTFS" -c . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$IMAGE" >/dev/null
echo "build-local-base: built ${IMAGE} in $((SECONDS - start))s"
