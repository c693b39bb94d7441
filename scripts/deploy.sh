#!/usr/bin/env bash
# Deploys multiclaude to Minikube (or to a one-node cluster whose node is this machine, such as the tests'
# scripts/cluster/up.sh): builds and loads the images, creates the secrets from the environment,
# applies kubernetes/ (agents as pods: no docker socket, no hostPath in any pod) with the images' own
# tags, or with --docker-socket the Minikube-only overlay kubernetes-minikube-docker/ (agents as Docker
# containers through the node's socket, the design's seed), waits, prints the URL.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE="${MINIKUBE_PROFILE:-minikube}"
ORCHESTRATOR_IMAGE="${ORCHESTRATOR_IMAGE:-orchestrator:latest}"
FRONTEND_IMAGE="${FRONTEND_IMAGE:-frontend:latest}"
MCP_IMAGE="${DOCKER_MCP_IMAGE:-claude-mcp:latest}"
POSTGRES_IMAGE="${POSTGRES_IMAGE:-multiclaude-postgres:latest}"
POSTGRES_REF="$POSTGRES_IMAGE"
NODE_WORKSPACE="/data/claude-workspace"
BUILD=1
DEMO=0
RENDER_ONLY=0
DOCKER_GID=""
DOCKER_SOCKET=0
RUNTIME_CLASS=""
TIMEOUT="${ROLLOUT_TIMEOUT:-300s}"

usage() {
  cat <<EOF
Usage: scripts/deploy.sh [--skip-build] [--demo] [--profile NAME] [--runtime-class NAME] [--docker-socket [--docker-gid GID]] [--render-only]

Deploys to the running Minikube cluster (docker driver):
  1. builds ${MCP_IMAGE}, ${ORCHESTRATOR_IMAGE}, ${FRONTEND_IMAGE} and ${POSTGRES_IMAGE} (scripts/build-images.sh)
  2. loads them into Minikube, the Node images under a tag of their content so each change rolls out
     (without a running Minikube: into the node's containerd when the cluster kubectl reaches has one
     node whose containerd is on this machine, found by CONTAINERD_ADDRESS or the node's
     kubeadm.alpha.kubernetes.io/cri-socket annotation; that node's Docker engine is then this machine's)
     (the agents' image ${MCP_IMAGE} too: their pods run on the node)
  3. checks that ${NODE_WORKSPACE} exists in the node (scripts/start-workspace-mount.sh, in another terminal)
  4. creates the secrets: anthropic-api-key from ANTHROPIC_API_KEY, and orchestrator-token in both
     namespaces from ORCHESTRATOR_TOKEN, else the cluster's existing one, else a new random one, and
     postgres-credentials (the run store's password and DATABASE_URL): the cluster's, else a new one
     (and git-credentials from the file GIT_CREDENTIALS_FILE names, if set: private source repositories)
  5. applies kubernetes/ (AGENT_RUNTIME=kubernetes: each agent a pod in the namespace agents), waits
     for both rollouts, prints the URL

  --skip-build      use the images already built on this machine
  --demo            deploy without ANTHROPIC_API_KEY: agents talk to the offline scripted model, not Claude
  --profile NAME    Minikube profile (env MINIKUBE_PROFILE; default minikube)
  --runtime-class NAME
                    run the agents' pods (and checks', never the setup step's) under this RuntimeClass
                    (KUBERNETES_RUNTIME_CLASS), e.g. gVisor's; the test cluster's no-network
                    (scripts/cluster/up.sh) gives them no network at all
  --docker-socket   MINIKUBE ONLY: apply kubernetes-minikube-docker/ instead, the design's seed: the
                    orchestrator mounts the node's /var/run/docker.sock (root on the node) and runs
                    agents as Docker containers (needs minikube start --container-runtime=docker)
  --docker-gid GID  with --docker-socket: group of the node's docker.sock (default: read from the node)
  --render-only     print the manifests that would be applied and stop (needs only kubectl; with
                    --docker-socket, --docker-gid is then required; images keep their tags, no secret is read)
  -h, --help        show this help
Env: ANTHROPIC_API_KEY, ORCHESTRATOR_TOKEN, ROLLOUT_TIMEOUT (default 300s), ORCHESTRATOR_IMAGE,
FRONTEND_IMAGE, DOCKER_MCP_IMAGE, POSTGRES_IMAGE, CONTAINERD_ADDRESS, KUBECONFIG.
EOF
}

die() {
  echo "deploy: $*" >&2
  exit 1
}
say() { echo "deploy: $*"; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --skip-build) BUILD=0 ;;
    --demo) DEMO=1 ;;
    --profile) [ $# -ge 2 ] || die "--profile needs a value"; PROFILE="$2"; shift ;;
    --docker-socket) DOCKER_SOCKET=1 ;;
    --docker-gid) [ $# -ge 2 ] || die "--docker-gid needs a value"; DOCKER_GID="$2"; shift ;;
    --runtime-class) [ $# -ge 2 ] || die "--runtime-class needs a value"; RUNTIME_CLASS="$2"; shift ;;
    --render-only) RENDER_ONLY=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
if [ -n "$DOCKER_GID" ]; then
  case "$DOCKER_GID" in *[!0-9]*) die "--docker-gid must be a number, got '${DOCKER_GID}'" ;; esac
fi

if [ -n "$RUNTIME_CLASS" ]; then
  [[ "$RUNTIME_CLASS" =~ ^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$ ]] || die "--runtime-class must be a RuntimeClass name (lower-case letters, digits, - and .), got '${RUNTIME_CLASS}'"
  [ "$DOCKER_SOCKET" -eq 0 ] || die "--runtime-class is for agents as pods; with --docker-socket agents are Docker containers"
fi
if [ -n "$DOCKER_GID" ] && [ "$DOCKER_SOCKET" -eq 0 ]; then
  die "--docker-gid goes with --docker-socket (the default deployment mounts no docker socket)"
fi
if [ "$RENDER_ONLY" -eq 1 ] && [ "$DOCKER_SOCKET" -eq 1 ] && [ -z "$DOCKER_GID" ]; then
  die "--render-only --docker-socket needs --docker-gid (there is no node to read it from)"
fi
# What is applied: the default deployment, or the Minikube-only docker-socket overlay.
MANIFESTS="${ROOT}/kubernetes"
[ "$DOCKER_SOCKET" -eq 0 ] || MANIFESTS="${ROOT}/kubernetes-minikube-docker"


need kubectl "see https://kubernetes.io/docs/tasks/tools/ (Debian: apt-get install kubectl, from the Kubernetes apt repository)"
need node "Node 20 builds the images and renders the overlay: https://nodejs.org/"

OVERLAY="$(mktemp -d "${TMPDIR:-/tmp}/multiclaude-deploy.XXXXXX")"
trap 'rm -rf "$OVERLAY"' EXIT

# kustomize refuses absolute paths, so the overlay names kubernetes/ relative to its own temp dir. The
# checksum annotation changes the pod template whenever a secret does: pods read secrets only at start.
write_overlay() {
  local gid="$1" orchestrator_ref="$2" frontend_ref="$3" checksum="$4" base
  base="$(node -e 'process.stdout.write(require("path").relative(process.argv[1], process.argv[2]))' "$OVERLAY" "$MANIFESTS")"
  cat >"${OVERLAY}/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ${base}
images:
  - name: orchestrator
    newName: ${orchestrator_ref%:*}
    newTag: ${orchestrator_ref##*:}
  - name: frontend
    newName: ${frontend_ref%:*}
    newTag: ${frontend_ref##*:}
  - name: multiclaude-postgres
    newName: ${POSTGRES_REF%:*}
    newTag: ${POSTGRES_REF##*:}
patches:
  - target:
      kind: Deployment
      name: orchestrator
    patch: |-${gid:+
      - op: replace
        path: /spec/template/spec/securityContext/supplementalGroups
        value: [${gid}]}
      - op: add
        path: /spec/template/metadata/annotations
        value: {multiclaude/secrets-checksum: "${checksum}"${RUNTIME_CLASS:+, multiclaude/runtime-class: "${RUNTIME_CLASS}"}}${RUNTIME_CLASS:+
  - target:
      kind: ConfigMap
      name: workspace-config
    patch: |-
      - op: add
        path: /data/KUBERNETES_RUNTIME_CLASS
        value: "${RUNTIME_CLASS}"}
  - target:
      kind: Deployment
      name: frontend
    patch: |-
      - op: add
        path: /spec/template/metadata/annotations
        value: {multiclaude/secrets-checksum: "${checksum}"}
EOF
}

if [ "$RENDER_ONLY" -eq 1 ]; then
  write_overlay "$DOCKER_GID" "$ORCHESTRATOR_IMAGE" "$FRONTEND_IMAGE" "render-only"
  kubectl kustomize "$OVERLAY"
  exit 0
fi

# The node's containerd socket when it is on this machine: CONTAINERD_ADDRESS, else where the single
# node says its CRI socket is, else containerd's default. It counts only if the containers the cluster
# reports for that node are in it, which proves this machine is the node.
# shellcheck source-path=SCRIPTDIR source=lib/node-access.sh
. "${ROOT}/scripts/lib/node-access.sh"

# How images reach the node: Minikube's image loading, or the node's own containerd on this machine.
NODE_ACCESS=""
if command -v minikube >/dev/null 2>&1 && minikube status --profile "$PROFILE" >/dev/null 2>&1; then
  NODE_ACCESS=minikube
elif CONTAINERD_SOCKET="$(node_containerd)"; then
  NODE_ACCESS=containerd
elif ! command -v minikube >/dev/null 2>&1; then
  die "minikube is not installed: see https://minikube.sigs.k8s.io/docs/start/ (or point KUBECONFIG at a one-node cluster whose containerd runs on this machine)"
fi
need docker "Debian: apt-get install docker.io"
if [ "$DEMO" -eq 0 ] && [ -z "${ANTHROPIC_API_KEY:-}" ]; then
  die "ANTHROPIC_API_KEY is not set: export it, or deploy with --demo to use the offline scripted model"
fi
[ -n "$NODE_ACCESS" ] ||
  die "Minikube profile '${PROFILE}' is not running: minikube start --driver=docker --container-runtime=docker"

if [ "$NODE_ACCESS" = minikube ]; then
  say "cluster: Minikube profile ${PROFILE}; images go in with minikube image load"
  # One command line, run by the node's shell (minikube ssh joins its arguments with spaces anyway).
  on_node() { minikube ssh --profile "$PROFILE" -- "$1" 2>/dev/null | tr -d '\r'; }
else
  say "cluster: its one node is this machine (its containerd answers at ${CONTAINERD_SOCKET}); images go in with docker save | ctr images import"
  on_node() { sh -c "$1" 2>/dev/null; }
fi
if [ "$DOCKER_SOCKET" -eq 1 ]; then
  [ "$(on_node 'test -S /var/run/docker.sock && echo yes')" = yes ] ||
    die "the node has no /var/run/docker.sock: --docker-socket needs the Docker runtime (minikube start --container-runtime=docker)"
fi

if [ "$(on_node "test -d ${NODE_WORKSPACE} && echo yes")" != yes ]; then
  if [ "$NODE_ACCESS" = minikube ]; then
    die "${NODE_WORKSPACE} does not exist in the node: run scripts/start-workspace-mount.sh in another terminal and keep it open"
  fi
  die "${NODE_WORKSPACE} does not exist on this machine (the node): create it, owned by uid 10001 (scripts/cluster/up.sh does)"
fi
if [ "$NODE_ACCESS" = containerd ]; then
  say "runs land in ${NODE_WORKSPACE} on this machine, the node's own directory"
elif [ "$(on_node "grep -q ' ${NODE_WORKSPACE} ' /proc/mounts && echo yes")" != yes ]; then
  say "warning: ${NODE_WORKSPACE} is not a mount: runs will stay inside the node (start scripts/start-workspace-mount.sh)"
fi

if [ "$DOCKER_SOCKET" -eq 1 ]; then
  say "MINIKUBE-ONLY overlay kubernetes-minikube-docker/: the orchestrator gets the node's docker socket"
  if [ -z "$DOCKER_GID" ]; then
    DOCKER_GID="$(on_node 'stat -c %g /var/run/docker.sock')"
    case "$DOCKER_GID" in '' | *[!0-9]*) die "could not read the group of the node's docker socket (got '${DOCKER_GID}'); pass --docker-gid" ;; esac
  fi
  say "the node's docker socket belongs to group ${DOCKER_GID}"
fi

if [ "$BUILD" -eq 1 ]; then
  bash "${ROOT}/scripts/build-images.sh"
fi
for image in "$MCP_IMAGE" "$ORCHESTRATOR_IMAGE" "$FRONTEND_IMAGE" "$POSTGRES_IMAGE"; do
  docker image inspect "$image" >/dev/null 2>&1 || die "image ${image} is missing: run scripts/build-images.sh (or drop --skip-build)"
done

# A tag of the image's own id: `kubectl apply` then changes the pod template exactly when the image changed.
content_tag() {
  local image="$1" id
  id="$(docker image inspect --format '{{.Id}}' "$image")"
  id="${id#sha256:}"
  docker tag "$image" "${image%:*}:${id:0:12}"
  printf '%s' "${image%:*}:${id:0:12}"
}
ORCHESTRATOR_REF="$(content_tag "$ORCHESTRATOR_IMAGE")"
FRONTEND_REF="$(content_tag "$FRONTEND_IMAGE")"
POSTGRES_REF="$(content_tag "$POSTGRES_IMAGE")"
# The MCP image keeps its name: the agents' pods (or, with --docker-socket, containers) name it by DOCKER_MCP_IMAGE.
if [ "$NODE_ACCESS" = minikube ]; then
  for image in "$MCP_IMAGE" "$ORCHESTRATOR_REF" "$FRONTEND_REF" "$POSTGRES_REF"; do
    say "loading ${image} into Minikube"
    minikube image load --profile "$PROFILE" "$image"
  done
else
  for image in "$ORCHESTRATOR_REF" "$FRONTEND_REF" "$POSTGRES_REF"; do
    say "loading ${image} into the node's containerd (docker save | ctr -n k8s.io images import)"
    docker save "$image" | ctr --address "$CONTAINERD_SOCKET" -n k8s.io images import - >/dev/null
  done
  if [ "$DOCKER_SOCKET" -eq 1 ]; then
    say "${MCP_IMAGE} is already where the sandboxes start: this machine's Docker engine is the node's"
  else
    say "loading ${MCP_IMAGE} into the node's containerd (the agents' pods run it)"
    docker save "$MCP_IMAGE" | ctr --address "$CONTAINERD_SOCKET" -n k8s.io images import - >/dev/null
  fi
fi

say "applying the namespaces and secrets"
kubectl apply -f "${ROOT}/kubernetes/backend/namespace.yaml" -f "${ROOT}/kubernetes/frontend/namespace.yaml" -f "${ROOT}/kubernetes/agents/namespace.yaml" >/dev/null

# Secrets go through files under /dev/fd, never argv, so no value shows in the process table.
TOKEN="${ORCHESTRATOR_TOKEN:-}"
if [ -z "$TOKEN" ]; then
  TOKEN="$(kubectl get secret orchestrator-token -n backend -o jsonpath='{.data.ORCHESTRATOR_TOKEN}' 2>/dev/null | base64 -d 2>/dev/null || true)"
fi
if [ -z "$TOKEN" ]; then
  TOKEN="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
  say "generated a new orchestrator token"
fi
for namespace in backend frontend; do
  kubectl create secret generic orchestrator-token -n "$namespace" \
    --from-file=ORCHESTRATOR_TOKEN=<(printf '%s' "$TOKEN") --dry-run=client -o yaml | kubectl apply -f - >/dev/null
done
if [ "$DEMO" -eq 1 ]; then
  kubectl delete secret anthropic-api-key -n backend --ignore-not-found >/dev/null
  say "demo mode: no API key in the cluster; agents use the offline scripted model"
else
  kubectl create secret generic anthropic-api-key -n backend \
    --from-file=ANTHROPIC_API_KEY=<(printf '%s' "$ANTHROPIC_API_KEY") --dry-run=client -o yaml | kubectl apply -f - >/dev/null
fi
# The run store's password: generated once and kept (the database was initialised with it), like the token.
DATABASE_PASSWORD="$(kubectl get secret postgres-credentials -n backend -o jsonpath='{.data.POSTGRES_PASSWORD}' 2>/dev/null | base64 -d 2>/dev/null || true)"
if [ -z "$DATABASE_PASSWORD" ]; then
  DATABASE_PASSWORD="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
  say "generated the run store's database password"
fi
kubectl create secret generic postgres-credentials -n backend \
  --from-file=POSTGRES_PASSWORD=<(printf '%s' "$DATABASE_PASSWORD") \
  --from-file=DATABASE_URL=<(printf 'postgres://multiclaude:%s@postgres.backend.svc.cluster.local:5432/multiclaude' "$DATABASE_PASSWORD") \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null
# Optional: the orchestrator's credentials for private source repositories (git-credential-store format).
GIT_CREDENTIALS_SUM=""
if [ -n "${GIT_CREDENTIALS_FILE:-}" ]; then
  [ -r "$GIT_CREDENTIALS_FILE" ] || die "GIT_CREDENTIALS_FILE ${GIT_CREDENTIALS_FILE} cannot be read"
  kubectl create secret generic git-credentials -n backend \
    --from-file=credentials="$GIT_CREDENTIALS_FILE" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  GIT_CREDENTIALS_SUM="$(node -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync(process.argv[1])).digest("hex"))' "$GIT_CREDENTIALS_FILE")"
  say "git credentials for private sources: secret git-credentials"
fi
CHECKSUM="$( { printf '%s\n' "$TOKEN" "$GIT_CREDENTIALS_SUM"; if [ "$DEMO" -eq 0 ]; then printf '%s\n' "$ANTHROPIC_API_KEY"; fi; } | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => process.stdout.write(require("crypto").createHash("sha256").update(s).digest("hex").slice(0, 16)))')"

say "applying ${MANIFESTS#"${ROOT}/"}/ (orchestrator ${ORCHESTRATOR_REF}, frontend ${FRONTEND_REF})"
write_overlay "$DOCKER_GID" "$ORCHESTRATOR_REF" "$FRONTEND_REF" "$CHECKSUM"
kubectl apply -k "$OVERLAY"

for target in backend/orchestrator frontend/frontend; do
  say "waiting for ${target#*/} (up to ${TIMEOUT})"
  if ! kubectl rollout status "deployment/${target#*/}" -n "${target%/*}" --timeout="$TIMEOUT"; then
    kubectl get pods -n "${target%/*}" -o wide >&2 || true
    die "${target#*/} did not become ready: kubectl describe pods -n ${target%/*}; see the README's troubleshooting"
  fi
done

# With some drivers `minikube service --url` keeps a tunnel open and never returns: bounded, if possible.
URL=""
if [ "$NODE_ACCESS" = containerd ]; then
  NODE_IP="$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')"
  NODE_PORT="$(kubectl get service frontend-service -n frontend -o jsonpath='{.spec.ports[0].nodePort}')"
  URL="http://${NODE_IP}:${NODE_PORT}"
elif command -v timeout >/dev/null 2>&1; then
  URL="$(timeout 30 minikube service frontend-service -n frontend --profile "$PROFILE" --url 2>/dev/null | head -n 1 || true)"
fi
say "deployed. Open ${URL:-the frontend with: minikube service frontend-service -n frontend}"
