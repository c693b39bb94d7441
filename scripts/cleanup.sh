#!/usr/bin/env bash
# Removes what scripts/deploy.sh created in Minikube (or in a one-node cluster whose node is this machine):
# the namespaces backend, frontend and agents (deployments, services, secrets, the logs volume, agent
# pods), the workspace volume objects, and leftover agent sandbox containers of the docker-socket overlay.
# The workspace on the host is left alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE="${MINIKUBE_PROFILE:-minikube}"
REMOVE_IMAGES=0

usage() {
  cat <<EOF
Usage: scripts/cleanup.sh [--images] [--profile NAME]

Deletes everything kubernetes/ defines (namespaces backend, frontend and agents with all they hold:
agent pods, the orchestrator-logs volume, the secrets; the workspace volume objects, never their
directory) and the agents' sandbox containers still in the node's Docker engine (docker-socket
overlay). Run repositories on the host (the minikube mount source) are kept.
Without a running Minikube it works on the cluster kubectl reaches when its one node is this machine
(its containerd answers here, as deploy.sh finds it); the sandboxes removed are then only those labelled
with the workspace /data/claude-workspace, since this machine's engine may run others.

  --images        also remove the orchestrator, frontend and claude-mcp images from Minikube
                  (on a node that is this machine: the orchestrator and frontend images from its containerd)
  --profile NAME  Minikube profile (env MINIKUBE_PROFILE; default minikube)
  -h, --help      show this help
EOF
}

die() {
  echo "cleanup: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --images) REMOVE_IMAGES=1 ;;
    --profile) [ $# -ge 2 ] || die "--profile needs a value"; PROFILE="$2"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

command -v kubectl >/dev/null 2>&1 || die "kubectl is not installed: see https://kubernetes.io/docs/tasks/tools/"
NODE_WORKSPACE="/data/claude-workspace"

# As in deploy.sh: the node's containerd socket, when the cluster's one node is this machine.
# shellcheck source-path=SCRIPTDIR source=lib/node-access.sh
. "${ROOT}/scripts/lib/node-access.sh"

NODE_ACCESS=""
if command -v minikube >/dev/null 2>&1 && minikube status --profile "$PROFILE" >/dev/null 2>&1; then
  NODE_ACCESS=minikube
elif CONTAINERD_SOCKET="$(node_containerd)"; then
  NODE_ACCESS=containerd
  echo "cleanup: the cluster's one node is this machine (its containerd answers at ${CONTAINERD_SOCKET})"
elif ! command -v minikube >/dev/null 2>&1; then
  die "minikube is not installed: see https://minikube.sigs.k8s.io/docs/start/ (or point KUBECONFIG at a one-node cluster whose containerd runs on this machine)"
else
  die "Minikube profile '${PROFILE}' is not running: nothing to clean"
fi

echo "cleanup: deleting kubernetes/ and the namespaces backend, frontend and agents"
# The overlay's objects are kubernetes/'s own (it only patches them), so this covers both deployments.
kubectl delete -k "${ROOT}/kubernetes" --ignore-not-found --wait=true
# The secrets are made by deploy.sh outside the kustomization; they go with their namespaces, and agent
# pods of runs cut short with theirs.
kubectl delete namespace backend frontend agents --ignore-not-found --wait=true

# Sandboxes of runs cut short by the deletion, found by the label the orchestrator gives them.
echo "cleanup: removing leftover sandbox containers"
if [ "$NODE_ACCESS" = minikube ]; then
  # shellcheck disable=SC2016 # expanded by the node's shell, not this one
  minikube ssh --profile "$PROFILE" -- \
    'ids=$(docker ps -aq --filter label=multiclaude.managed=true); if [ -n "$ids" ]; then docker rm -f $ids; fi' || true
else
  # This machine's engine also runs other sandboxes: only those of this deployment's workspace go (the
  # orchestrator labels each with the WORKSPACE_PATH it was given).
  for id in $(docker ps -aq --filter label=multiclaude.managed=true --filter "label=multiclaude.workspace=${NODE_WORKSPACE}" 2>/dev/null || true); do
    docker rm -f "$id" >/dev/null && echo "cleanup: removed sandbox container ${id}"
  done
fi

if [ "$REMOVE_IMAGES" -eq 1 ] && [ "$NODE_ACCESS" = minikube ]; then
  echo "cleanup: removing the images from Minikube"
  for image in $(minikube image ls --profile "$PROFILE" 2>/dev/null | grep -E '(^|/)(orchestrator|frontend|claude-mcp):' || true); do
    minikube image rm --profile "$PROFILE" "$image" || true
  done
elif [ "$REMOVE_IMAGES" -eq 1 ]; then
  echo "cleanup: removing the orchestrator and frontend images from the node's containerd"
  for image in $(ctr --address "$CONTAINERD_SOCKET" -n k8s.io images ls -q 2>/dev/null | grep -E '^docker\.io/library/(orchestrator|frontend):' || true); do
    ctr --address "$CONTAINERD_SOCKET" -n k8s.io images rm "$image" >/dev/null || true
  done
fi
echo "cleanup: done (the workspace on the host is untouched)"
