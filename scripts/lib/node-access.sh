#!/usr/bin/env bash
# How this machine reaches the one node of the cluster kubectl talks to, for deploy.sh and cleanup.sh
# (sourced): node_containerd prints the socket of that node's containerd when it runs on this machine.

# The node's containerd on this machine, if the cluster has exactly one node and that node's containers are
# in it: CONTAINERD_ADDRESS, else the node's cri-socket annotation, else containerd's default socket.
node_containerd() {
  command -v ctr >/dev/null 2>&1 || return 1
  local nodes node candidates=() socket reported listed id
  nodes="$(kubectl get nodes -o jsonpath='{.items[*].metadata.name}' --request-timeout=10s 2>/dev/null)" || return 1
  [ -n "$nodes" ] && [ "${nodes// /}" = "$nodes" ] || return 1 # exactly one node
  node="$nodes"
  [ -z "${CONTAINERD_ADDRESS:-}" ] || candidates+=("$CONTAINERD_ADDRESS")
  socket="$(kubectl get node "$node" -o jsonpath='{.metadata.annotations.kubeadm\.alpha\.kubernetes\.io/cri-socket}' 2>/dev/null || true)"
  [ -z "$socket" ] || candidates+=("${socket#unix://}")
  candidates+=(/run/containerd/containerd.sock)
  reported="$(kubectl get pods -A --field-selector "spec.nodeName=${node}" \
    -o jsonpath='{range .items[*]}{range .status.containerStatuses[*]}{.containerID}{"\n"}{end}{end}' 2>/dev/null | sed -n 's|^containerd://||p')"
  [ -n "$reported" ] || return 1
  for socket in "${candidates[@]}"; do
    [ -S "$socket" ] || continue
    listed="$(ctr --address "$socket" -n k8s.io containers ls -q 2>/dev/null)" || continue
    for id in $reported; do
      if grep -qx "$id" <<<"$listed"; then
        printf '%s' "$socket"
        return 0
      fi
    done
  done
  return 1
}
