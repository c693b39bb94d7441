#!/usr/bin/env bash
# Builds the project's images — the agents' MCP image, the orchestrator and the frontend — on public bases,
# or, on a machine with no container registry, on a locally debootstrapped Debian base.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${DOCKER_MCP_IMAGE:-claude-mcp:latest}"
ORCHESTRATOR_IMAGE="${ORCHESTRATOR_IMAGE:-orchestrator:latest}"
FRONTEND_IMAGE="${FRONTEND_IMAGE:-frontend:latest}"
POSTGRES_IMAGE="${POSTGRES_IMAGE:-multiclaude-postgres:latest}"
LOCAL_POSTGRES_BASE="${LOCAL_POSTGRES_BASE_IMAGE:-multiclaude-postgres-base:bookworm}"
PUBLIC_BASE="debian:bookworm-slim"
LOCAL_BASE="${LOCAL_BASE_IMAGE:-multiclaude-base:bookworm}"
LOCAL_NODE_BASE="${LOCAL_NODE_IMAGE:-multiclaude-node:20-bookworm}"
BASE="${BASE_IMAGE:-}"
NODE_BASE="${NODE_IMAGE:-}"
USE_LOCAL_BASE=0
FORCE_BASE=0
ONLY="mcp,orchestrator,frontend,postgres"
CLAUDE="${CLAUDE_BINARY:-}"

usage() {
  cat <<EOF
Usage: scripts/build-images.sh [--only LIST] [--local-base] [--force-base] [--base IMAGE] [--image NAME]

Builds, from the repository:
  mcp           ${IMAGE}  (backend/mcp/Dockerfile, with the claude binary from node_modules)
  orchestrator  ${ORCHESTRATOR_IMAGE}  (backend/orchestrator/Dockerfile)
  frontend      ${FRONTEND_IMAGE}  (frontend/Dockerfile; skipped until frontend/package.json exists)
  postgres      ${POSTGRES_IMAGE}  (backend/postgres/Dockerfile: Debian's postgresql, the cluster's run store;
                with the local base, on ${LOCAL_POSTGRES_BASE}, a debootstrap base holding the package)

The Debian base is, in order: --base / BASE_IMAGE; the local debootstrap base with --local-base;
${PUBLIC_BASE} if present or pullable; else the local debootstrap base
(${LOCAL_BASE}, built by scripts/build-local-base.sh, which needs only a Debian mirror).
With the public base the Node images build FROM node:20 and docker:cli; with the local base they build
FROM ${LOCAL_NODE_BASE}: the local base plus this machine's Node 20 (node and npm) and docker
client, copied in, because Debian bookworm's nodejs is 18. Their \`npm ci\` needs the npm registry.

  --only LIST     comma-separated subset of: mcp,orchestrator,frontend,postgres (default: all)
  --base IMAGE    Debian base of the MCP image (env BASE_IMAGE)
  --local-base    always use (and if needed build) the local debootstrap base
  --force-base    rebuild the local bases even if they exist (implies --local-base)
  --image NAME    tag of the MCP image (env DOCKER_MCP_IMAGE; default claude-mcp:latest)
  -h, --help      show this help
Env: CLAUDE_BINARY (claude executable), ORCHESTRATOR_IMAGE, FRONTEND_IMAGE, POSTGRES_IMAGE (tags),
NODE_IMAGE (Node 20 base of the orchestrator and frontend, also used for their docker client).
EOF
}

die() {
  echo "build-images: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --only) [ $# -ge 2 ] || die "--only needs a value"; ONLY="$2"; shift ;;
    --base) [ $# -ge 2 ] || die "--base needs a value"; BASE="$2"; shift ;;
    --local-base) USE_LOCAL_BASE=1 ;;
    --force-base) USE_LOCAL_BASE=1; FORCE_BASE=1 ;;
    --image) [ $# -ge 2 ] || die "--image needs a value"; IMAGE="$2"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

wanted() { case ",${ONLY}," in *",$1,"*) return 0 ;; *) return 1 ;; esac }
for name in ${ONLY//,/ }; do
  case "$name" in mcp | orchestrator | frontend | postgres) ;; *) die "--only: unknown image '${name}' (mcp, orchestrator, frontend, postgres)" ;; esac
done

command -v docker >/dev/null 2>&1 || die "docker is not installed (Debian: apt-get install docker.io)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
  die "the Docker engine is not reachable (is dockerd running? try: dockerd &)"

# The claude binary is platform-specific; the SDK ships it as an optional dependency per platform.
if wanted mcp && [ -z "$CLAUDE" ]; then
  case "$(uname -m)" in
    x86_64 | amd64) platform="linux-x64" ;;
    aarch64 | arm64) platform="linux-arm64" ;;
    *) die "unsupported architecture $(uname -m); set CLAUDE_BINARY" ;;
  esac
  CLAUDE="${ROOT}/node_modules/@anthropic-ai/claude-agent-sdk-${platform}/claude"
fi
if wanted mcp; then [ -x "$CLAUDE" ] || die "no claude executable at ${CLAUDE} (run npm install, or set CLAUDE_BINARY)"; fi

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

# Every staged build context is removed on exit. new_context sets `context` rather than printing the path: called
# as "$(new_context …)" it ran in a subshell, its CONTEXTS+= was lost, and every build left its context in /tmp
# (the orchestrator's is 551 MB).
CONTEXTS=()
trap 'rm -rf "${CONTEXTS[@]}"' EXIT
new_context() {
  context="$(mktemp -d "/tmp/multiclaude-$1-context.XXXXXX")"
  CONTEXTS+=("$context")
}

# A hard link avoids copying hundreds of MB when the temp dir is on the same file system.
stage_file() { ln "$1" "$2" 2>/dev/null || cp "$1" "$2"; }

build_mcp() {
  local context claude_version start=$SECONDS
  # A staged context keeps the build context to two files instead of the whole repository.
  new_context mcp
  cp "${ROOT}/backend/mcp/Dockerfile" "${context}/Dockerfile"
  stage_file "$CLAUDE" "${context}/claude"
  claude_version="$("$CLAUDE" --version 2>/dev/null | head -n 1 || echo unknown)"
  echo "build-images: building ${IMAGE} FROM ${BASE} with claude ${claude_version}"
  docker build \
    --build-arg "BASE_IMAGE=${BASE}" \
    --label "multiclaude.claude_version=${claude_version}" \
    --tag "$IMAGE" \
    "$context"
  # Smoke test with the sandbox's own hardening, so a broken image fails here and not in the first run.
  docker run --rm --network none --cap-drop ALL --security-opt no-new-privileges --read-only \
    "$IMAGE" bash -c 'claude --version && git --version && node --version && python3 --version && make --version | head -n 1' ||
    die "the image ${IMAGE} was built but its tools do not run"
  echo "build-images: built ${IMAGE} in $((SECONDS - start))s"
}

# The local Node base: Debian's nodejs is 18 and no registry serves node:20, so this machine's own
# Node 20 (a glibc build, as Debian's and NodeSource's are) and its npm and docker client are copied
# onto the debootstrap base. Rebuilt only when the host's node or docker version changes.
build_local_node_base() {
  local node_bin npm_dir docker_bin node_version docker_version stamp context
  node_bin="$(command -v node)" || die "node is not installed; it is copied into the local Node base"
  node_bin="$(readlink -f "$node_bin")"
  node_version="$("$node_bin" -p 'process.versions.node')"
  [ "${node_version%%.*}" -ge 20 ] || die "the local Node base needs Node 20+ on this machine (found ${node_version}); or set NODE_IMAGE"
  npm_dir="$("$node_bin" -p 'require("path").resolve(require("fs").realpathSync(process.argv[1]), "../..")' "$(command -v npm)")"
  [ -f "${npm_dir}/bin/npm-cli.js" ] || die "npm not found next to node (looked in ${npm_dir})"
  docker_bin="$(readlink -f "$(command -v docker)")"
  docker_version="$(docker version --format '{{.Client.Version}}' 2>/dev/null || echo unknown)"
  stamp="node ${node_version} docker ${docker_version} base $(docker image inspect --format '{{.Id}}' "$BASE")"

  if [ "$FORCE_BASE" -eq 0 ] &&
    [ "$(docker image inspect --format '{{index .Config.Labels "multiclaude.stamp"}}' "$LOCAL_NODE_BASE" 2>/dev/null || true)" = "$stamp" ]; then
    echo "build-images: ${LOCAL_NODE_BASE} is up to date (${stamp%% base*})"
    return
  fi
  new_context node-base
  stage_file "$node_bin" "${context}/node"
  stage_file "$docker_bin" "${context}/docker"
  cp -a "$npm_dir" "${context}/npm"
  cat >"${context}/Dockerfile" <<'EOF'
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY node docker /usr/local/bin/
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version --no-update-notifier && docker --version
EOF
  echo "build-images: building ${LOCAL_NODE_BASE} FROM ${BASE} with this machine's ${stamp%% base*}"
  docker build --build-arg "BASE_IMAGE=${BASE}" --label "multiclaude.stamp=${stamp}" --tag "$LOCAL_NODE_BASE" "$context" ||
    die "could not build ${LOCAL_NODE_BASE}; on a machine with a registry, drop --local-base or set NODE_IMAGE"
}

# Orchestrator and frontend share one recipe. Their Dockerfiles build from the repository root and run
# `npm ci` themselves; here the dependencies are installed on this machine instead (from its warm npm
# cache) and staged as .prebuilt/<name>, which the Dockerfiles take when present: build containers may
# not reach the npm registry (no network, or a proxy whose certificate only this machine trusts).
stage_context() {
  local context="$1" manifest
  # The files git would commit (tracked or not ignored), under the paths the Dockerfiles copy.
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard -- \
    package.json package-lock.json .dockerignore packages backend/orchestrator frontend) |
    tar -C "$ROOT" --null --files-from=- --ignore-failed-read -cf - 2>/dev/null | tar -C "$context" -xf -
  [ -f "${context}/package-lock.json" ] || die "could not stage the build context (is ${ROOT} a git work tree?)"
  for manifest in $(cd "$ROOT" && node -p 'require("./package.json").workspaces.join(" ")'); do
    [ -f "${context}/${manifest}/package.json" ] || { mkdir -p "${context}/${manifest}"; cp "${ROOT}/${manifest}/package.json" "${context}/${manifest}/"; }
  done
}

# npm ci of one workspace in a copy of the manifests, leaving only node_modules in .prebuilt/<name>.
stage_dependencies() {
  local context="$1" name="$2" workspace="$3" mode="$4" target manifest
  target="${context}/.prebuilt/${name}"
  mkdir -p "$target"
  cp "${context}/package.json" "${context}/package-lock.json" "$target/"
  for manifest in $(cd "$ROOT" && node -p 'require("./package.json").workspaces.join(" ")'); do
    mkdir -p "${target}/${manifest}"
    cp "${ROOT}/${manifest}/package.json" "${target}/${manifest}/"
  done
  local flags=(--workspace "$workspace" --no-audit --no-fund --prefer-offline --loglevel=error)
  # The same flags as the Dockerfiles' own `npm ci` lines.
  if [ "$mode" = production ]; then flags+=(--omit=dev); else flags+=(--include-workspace-root); fi
  (cd "$target" && npm ci "${flags[@]}") >&2 || die "npm ci for ${name} failed"
  find "$target" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
}

NODE_BUILD_ARGS=()
NODE_BASES_RESOLVED=0
resolve_node_bases() {
  [ "$NODE_BASES_RESOLVED" -eq 0 ] || return 0
  NODE_BASES_RESOLVED=1
  if [ -n "$NODE_BASE" ]; then
    NODE_BUILD_ARGS=(--build-arg "NODE_IMAGE=${NODE_BASE}" --build-arg "RUNTIME_IMAGE=${NODE_BASE}")
  elif [ "$BASE" = "$LOCAL_BASE" ]; then
    build_local_node_base
    NODE_BASE="$LOCAL_NODE_BASE"
    NODE_BUILD_ARGS=(--build-arg "NODE_IMAGE=${NODE_BASE}" --build-arg "RUNTIME_IMAGE=${NODE_BASE}"
      --build-arg "DOCKER_CLI_IMAGE=${NODE_BASE}")
  fi
}

# build_node_image NAME TAG DOCKERFILE WORKSPACE SMOKE [build]: "build" also stages all of the
# workspace's dependencies (dev included) as .prebuilt/NAME-build, for a bundling stage.
build_node_image() {
  local name="$1" tag="$2" dockerfile="$3" workspace="$4" smoke="$5" needs_build="${6:-}" context start=$SECONDS
  resolve_node_bases
  new_context "$name"
  stage_context "$context"
  echo "build-images: installing ${workspace}'s dependencies for ${tag}"
  stage_dependencies "$context" "$name" "$workspace" production
  if [ "$needs_build" = build ]; then stage_dependencies "$context" "${name}-build" "$workspace" all; fi
  echo "build-images: building ${tag} from ${dockerfile#"${ROOT}/"}${NODE_BASE:+ FROM ${NODE_BASE}}"
  docker build "${NODE_BUILD_ARGS[@]}" --file "${context}/${dockerfile}" --tag "$tag" "$context" ||
    die "building ${name} failed"
  docker run --rm --network none --cap-drop ALL --security-opt no-new-privileges --read-only --entrypoint sh "$tag" -c "$smoke" ||
    die "the image ${tag} was built but its tools do not run"
  echo "build-images: built ${tag} in $((SECONDS - start))s"
}

# PostgreSQL from Debian's package. `docker build` may have no network, so with the local base the package
# comes in a debootstrap base of its own (built once), and the Dockerfile's RUN skips apt.
build_postgres() {
  local context base="$BASE" start=$SECONDS
  if [ "$BASE" = "$LOCAL_BASE" ]; then
    local flags=(--image "$LOCAL_POSTGRES_BASE" --packages "bash,ca-certificates,procps,passwd,postgresql")
    if [ "$FORCE_BASE" -eq 1 ]; then flags+=(--force); fi
    bash "${ROOT}/scripts/build-local-base.sh" "${flags[@]}"
    base="$LOCAL_POSTGRES_BASE"
  fi
  new_context postgres
  cp "${ROOT}/backend/postgres/Dockerfile" "${ROOT}/backend/postgres/entrypoint.sh" "$context/"
  echo "build-images: building ${POSTGRES_IMAGE} FROM ${base}"
  docker build --build-arg "BASE_IMAGE=${base}" --tag "$POSTGRES_IMAGE" "$context" || die "building postgres failed"
  docker run --rm --network none --cap-drop ALL --security-opt no-new-privileges --read-only --entrypoint sh "$POSTGRES_IMAGE" \
    -c 'id -u | grep -qx 10002 && postgres --version && initdb --version && pg_isready --version' ||
    die "the image ${POSTGRES_IMAGE} was built but its tools do not run"
  echo "build-images: built ${POSTGRES_IMAGE} in $((SECONDS - start))s"
}

if wanted mcp; then build_mcp; fi
if wanted orchestrator; then
  build_node_image orchestrator "$ORCHESTRATOR_IMAGE" backend/orchestrator/Dockerfile @multiclaude/orchestrator \
    'id -u | grep -qx 10001 && node --version && git --version && docker --version && node_modules/@anthropic-ai/claude-agent-sdk-linux-*/claude --version && test -f node_modules/tsx/package.json'
fi
if wanted frontend; then
  if [ -f "${ROOT}/frontend/package.json" ] && [ -f "${ROOT}/frontend/Dockerfile" ]; then
    build_node_image frontend "$FRONTEND_IMAGE" frontend/Dockerfile "$(cd "$ROOT/frontend" && node -p 'require("./package.json").name')" \
      'node --version && test -f node_modules/tsx/package.json && test -d frontend/dist' build
  else
    echo "build-images: skipping ${FRONTEND_IMAGE}: no frontend/package.json yet"
  fi
fi
if wanted postgres; then build_postgres; fi
