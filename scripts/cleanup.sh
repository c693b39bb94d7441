#!/usr/bin/env bash
# Removes what scripts/deploy.sh created in Minikube: both namespaces (deployments, services, secrets,
# the logs volume) and leftover agent sandbox containers. The workspace on the host is left alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE="${MINIKUBE_PROFILE:-minikube}"
REMOVE_IMAGES=0

usage() {
  cat <<EOF
Usage: scripts/cleanup.sh [--images] [--profile NAME]

Deletes everything kubernetes/ defines (namespaces backend and frontend with all they hold, the
orchestrator-logs volume and the secrets included) and the agents' sandbox containers still in the
node's Docker engine. Run repositories on the host (the minikube mount source) are kept.

  --images        also remove the orchestrator, frontend and claude-mcp images from Minikube
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
command -v minikube >/dev/null 2>&1 || die "minikube is not installed: see https://minikube.sigs.k8s.io/docs/start/"
minikube status --profile "$PROFILE" >/dev/null 2>&1 || die "Minikube profile '${PROFILE}' is not running: nothing to clean"

echo "cleanup: deleting kubernetes/ and the namespaces backend and frontend"
kubectl delete -k "${ROOT}/kubernetes" --ignore-not-found --wait=true
# The secrets are made by deploy.sh outside the kustomization; they go with their namespaces.
kubectl delete namespace backend frontend --ignore-not-found --wait=true

# Sandboxes of runs cut short by the deletion, found by the label the orchestrator gives them.
echo "cleanup: removing leftover sandbox containers"
# shellcheck disable=SC2016 # expanded by the node's shell, not this one
minikube ssh --profile "$PROFILE" -- \
  'ids=$(docker ps -aq --filter label=multiclaude.managed=true); if [ -n "$ids" ]; then docker rm -f $ids; fi' || true

if [ "$REMOVE_IMAGES" -eq 1 ]; then
  echo "cleanup: removing the images from Minikube"
  for image in $(minikube image ls --profile "$PROFILE" 2>/dev/null | grep -E '(^|/)(orchestrator|frontend|claude-mcp):' || true); do
    minikube image rm --profile "$PROFILE" "$image" || true
  done
fi
echo "cleanup: done (the workspace on the host is untouched)"
