#!/usr/bin/env bash
# Shared settings of the test cluster's scripts (sourced by up.sh, down.sh and provisioner.sh): where
# each piece lives, the node's network namespace and addresses, and small helpers.
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file

K8S_VERSION="${K8S_VERSION:-v1.35.4}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.13.1}"
PAUSE_IMAGE="localhost/multiclaude/pause:3.10.1"
COREDNS_IMAGE="localhost/multiclaude/coredns:${COREDNS_VERSION}"
CACHE="${MULTICLAUDE_CACHE:-/var/cache/multiclaude}"
K8S_BIN="$CACHE/k8s/$K8S_VERSION/bin"
COREDNS_BIN="$CACHE/coredns/$COREDNS_VERSION/coredns"

# Everything the cluster writes: state (etcd, certificates, containerd's and kubelet's roots, volumes)
# and runtime files (sockets, pids). cluster:down removes both.
STATE="/var/lib/multiclaude-k8s"
RUNDIR="/run/multiclaude-k8s"
LOGS="$STATE/logs"
PKI="$STATE/pki"
CONTAINERD_SOCK="$RUNDIR/containerd/containerd.sock"
KUBECONFIG_ADMIN="$STATE/admin.kubeconfig"
WORKSPACE="/data/claude-workspace"
WORKSPACE_UID=10001

# The node: its own network namespace, reached from this machine over a veth pair. Nothing in it is
# routed beyond this machine (Docker's FORWARD policy is DROP, and no rule here changes that).
NETNS="multiclaude-k8s"
NETNS_PATH="/run/netns/$NETNS"
HOST_IF="mck8s-host"
NODE_IF="eth0"
HOST_ADDRESS="10.213.0.1"
NODE_ADDRESS="10.213.0.2"
NODE_PREFIX=30
NODE_NAME="multiclaude-node"
POD_CIDR="10.244.0.0/16"
NODE_POD_SUBNET="10.244.0.0/24"
# Pods of the RuntimeClass no-network (the agents' pods, deploy.sh --runtime-class no-network): a
# macvlan device in private mode on a bridge of the node with no port and no address: nothing gets anywhere.
NO_NETWORK_LINK="mcnone0"
NO_NETWORK_SUBNET="10.245.0.0/24"
SERVICE_CIDR="10.96.0.0/16"
KUBERNETES_SERVICE_IP="10.96.0.1"
DNS_SERVICE_IP="10.96.0.10"
CLUSTER_DOMAIN="cluster.local"

export PATH="$K8S_BIN:$PATH"

say() { printf 'cluster: %s\n' "$*"; }
die() {
  printf 'cluster: %s\n' "$*" >&2
  exit 1
}
in_node() { nsenter --net="$NETNS_PATH" -- "$@"; }
kube() { kubectl --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

# A process this cluster started, by its pid file: alive and still the same program.
running() {
  local name="$1" pid
  [ -f "$RUNDIR/pids/$name.pid" ] || return 1
  pid="$(cat "$RUNDIR/pids/$name.pid")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(cat "$RUNDIR/pids/$name.cmd")"
}
