#!/usr/bin/env bash
# Builds the agents' MCP image (backend/mcp/Dockerfile), choosing a public or a locally debootstrapped base.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${DOCKER_MCP_IMAGE:-claude-mcp:latest}"
PUBLIC_BASE="debian:bookworm-slim"
LOCAL_BASE="${LOCAL_BASE_IMAGE:-multiclaude-base:bookworm}"
BASE="${BASE_IMAGE:-}"
USE_LOCAL_BASE=0
FORCE_BASE=0
CLAUDE="${CLAUDE_BINARY:-}"

usage() {
  cat <<EOF
Usage: scripts/build-images.sh [--local-base] [--force-base] [--base IMAGE] [--image NAME]

Builds ${IMAGE} from backend/mcp/Dockerfile with the claude binary from node_modules.
The base image is, in order: --base / BASE_IMAGE; the local debootstrap base with --local-base;
${PUBLIC_BASE} if present or pullable; else the local debootstrap base
(${LOCAL_BASE}, built by scripts/build-local-base.sh, which needs only a Debian mirror).

  --base IMAGE    base image to build FROM (env BASE_IMAGE)
  --local-base    always use (and if needed build) the local debootstrap base
  --force-base    rebuild the local base even if it exists (implies --local-base)
  --image NAME    tag of the MCP image (env DOCKER_MCP_IMAGE; default claude-mcp:latest)
  -h, --help      show this help
Env CLAUDE_BINARY overrides where the claude executable is taken from.
EOF
}

die() {
  echo "build-images: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --base) [ $# -ge 2 ] || die "--base needs a value"; BASE="$2"; shift ;;
    --local-base) USE_LOCAL_BASE=1 ;;
    --force-base) USE_LOCAL_BASE=1; FORCE_BASE=1 ;;
    --image) [ $# -ge 2 ] || die "--image needs a value"; IMAGE="$2"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

command -v docker >/dev/null 2>&1 || die "docker is not installed (Debian: apt-get install docker.io)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
  die "the Docker engine is not reachable (is dockerd running? try: dockerd &)"

# The claude binary is platform-specific; the SDK ships it as an optional dependency per platform.
if [ -z "$CLAUDE" ]; then
  case "$(uname -m)" in
    x86_64 | amd64) platform="linux-x64" ;;
    aarch64 | arm64) platform="linux-arm64" ;;
    *) die "unsupported architecture $(uname -m); set CLAUDE_BINARY" ;;
  esac
  CLAUDE="${ROOT}/node_modules/@anthropic-ai/claude-agent-sdk-${platform}/claude"
fi
[ -x "$CLAUDE" ] || die "no claude executable at ${CLAUDE} (run npm install, or set CLAUDE_BINARY)"

build_local_base() {
  local flags=(--image "$LOCAL_BASE")
  if [ "$FORCE_BASE" -eq 1 ]; then flags+=(--force); fi
  bash "${ROOT}/scripts/build-local-base.sh" "${flags[@]}"
  BASE="$LOCAL_BASE"
}

if [ -n "$BASE" ]; then
  :
elif [ "$USE_LOCAL_BASE" -eq 1 ]; then
  build_local_base
elif docker image inspect "$PUBLIC_BASE" >/dev/null 2>&1; then
  BASE="$PUBLIC_BASE"
elif timeout 120 docker pull "$PUBLIC_BASE" >/dev/null 2>&1; then
  BASE="$PUBLIC_BASE"
else
  echo "build-images: cannot pull ${PUBLIC_BASE} (no registry?); using the local debootstrap base"
  build_local_base
fi

# A staged context keeps the build context to two files instead of the whole repository.
CONTEXT="$(mktemp -d /tmp/multiclaude-mcp-context.XXXXXX)"
trap 'rm -rf "$CONTEXT"' EXIT
cp "${ROOT}/backend/mcp/Dockerfile" "${CONTEXT}/Dockerfile"
# A hard link avoids copying ~400 MB when the temp dir is on the same file system.
ln "$CLAUDE" "${CONTEXT}/claude" 2>/dev/null || cp "$CLAUDE" "${CONTEXT}/claude"

claude_version="$("$CLAUDE" --version 2>/dev/null | head -n 1 || echo unknown)"
echo "build-images: building ${IMAGE} FROM ${BASE} with claude ${claude_version}"
start=$SECONDS
docker build \
  --build-arg "BASE_IMAGE=${BASE}" \
  --label "multiclaude.claude_version=${claude_version}" \
  --tag "$IMAGE" \
  "$CONTEXT"

# Smoke test with the sandbox's own hardening, so a broken image fails here and not in the first run.
docker run --rm --network none --cap-drop ALL --security-opt no-new-privileges --read-only \
  "$IMAGE" bash -c 'claude --version && git --version && node --version && python3 --version && make --version | head -n 1' ||
  die "the image ${IMAGE} was built but its tools do not run"
echo "build-images: built ${IMAGE} in $((SECONDS - start))s"
