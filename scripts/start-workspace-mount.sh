#!/usr/bin/env bash
# Shares a host directory into the Minikube node as /data/claude-workspace (`minikube mount`), so run
# repositories written by the orchestrator pods and the agents' containers land on the host.
set -euo pipefail

PROFILE="${MINIKUBE_PROFILE:-minikube}"
HOST_DIR="${CLAUDE_WORKSPACE_HOST:-${HOME}/claude-workspace}"
NODE_DIR="/data/claude-workspace"
# The orchestrator and its sandboxes run as uid/gid 10001: the mount must present the files as theirs.
MOUNT_UID=10001
MOUNT_GID=10001

usage() {
  cat <<EOF
Usage: scripts/start-workspace-mount.sh [--profile NAME] [HOST_DIR]

Runs: minikube mount HOST_DIR:${NODE_DIR} --uid ${MOUNT_UID} --gid ${MOUNT_GID}
and keeps running: leave this terminal open while the system is deployed (Ctrl-C stops the mount).
HOST_DIR defaults to \$CLAUDE_WORKSPACE_HOST, else ~/claude-workspace; it is created if missing.
Run repositories appear in HOST_DIR/runs/run_<id>/.

  --profile NAME  Minikube profile (env MINIKUBE_PROFILE; default minikube)
  -h, --help      show this help
EOF
}

die() {
  echo "start-workspace-mount: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --profile) [ $# -ge 2 ] || die "--profile needs a value"; PROFILE="$2"; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option: $1" ;;
    *) HOST_DIR="$1" ;;
  esac
  shift
done

command -v minikube >/dev/null 2>&1 || die "minikube is not installed: see https://minikube.sigs.k8s.io/docs/start/"
minikube status --profile "$PROFILE" >/dev/null 2>&1 ||
  die "Minikube profile '${PROFILE}' is not running: minikube start --driver=docker --container-runtime=docker"

mkdir -p "$HOST_DIR"
HOST_DIR="$(cd "$HOST_DIR" && pwd)"
echo "start-workspace-mount: ${HOST_DIR} -> ${NODE_DIR} in Minikube '${PROFILE}' (keep this running)"
exec minikube mount --profile "$PROFILE" --uid "$MOUNT_UID" --gid "$MOUNT_GID" "${HOST_DIR}:${NODE_DIR}"
