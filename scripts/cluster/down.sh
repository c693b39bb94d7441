#!/usr/bin/env bash
# Tears down the test cluster made by up.sh (npm run cluster:down): stops its daemons and every
# container of its containerd, removes the pods' network namespaces, the node's namespace (and with it
# the veth pair and every iptables rule kube-proxy and the CNI plugins made there), every mount under
# its state and runtime directories, the cgroups kubelet made, /data/claude-workspace when up.sh made
# it, and the kubectl link. The Kubernetes build cache under /var/cache/multiclaude stays.
# Safe to run when nothing is up.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

case "${1:-}" in
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    echo "Usage: scripts/cluster/down.sh   (npm run cluster:down; root only)"
    exit 0
    ;;
  '') ;;
  *) die "unknown argument: $1" ;;
esac
[ "$(id -u)" -eq 0 ] || die "needs root"

stop() { # names...: TERM to each, then KILL what is left after 15 s; only the processes their pid files
  # name, if they are still those programs
  local name pid i pids=() names=()
  for name in "$@"; do
    running "$name" || continue
    pid="$(cat "$RUNDIR/pids/$name.pid")"
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
    names+=("$name")
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  local alive
  for ((i = 0; i < 150; i++)); do
    alive=0
    for pid in "${pids[@]}"; do if kill -0 "$pid" 2>/dev/null; then alive=1; fi; done
    [ "$alive" -eq 1 ] || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  say "stopped ${names[*]}"
}

stop provisioner kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver

# Every container of the node's containerd, and the network namespaces of its pods.
pod_netns=()
if running containerd && [ -S "$CONTAINERD_SOCK" ]; then
  ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }
  containers="$(ctr_ containers ls -q 2>/dev/null || true)"
  for id in $containers; do
    path="$(ctr_ containers info "$id" 2>/dev/null | jq -r '.Spec.linux.namespaces[]? | select(.type == "network") | .path // empty' || true)"
    case "$path" in /var/run/netns/* | /run/netns/*) pod_netns+=("$(basename "$path")") ;; esac
  done
  for id in $(ctr_ tasks ls -q 2>/dev/null || true); do ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  sleep 1
  for id in $containers; do
    ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true
    ctr_ containers delete "$id" >/dev/null 2>&1 || true
  done
  [ -z "$containers" ] || say "removed the node's containers"
fi
stop containerd etcd

# Anything still running in the node's namespace (a container shim, say) is the cluster's.
if [ -e "$NETNS_PATH" ]; then
  for pid in $(ip netns pids "$NETNS" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
fi

# Pod network namespaces: those the containers named, and any cni-* no process uses any more.
for path in /run/netns/cni-*; do
  [ -e "$path" ] || continue
  name="$(basename "$path")"
  if [ -z "$(ip netns pids "$name" 2>/dev/null || true)" ]; then pod_netns+=("$name"); fi
done
for name in "${pod_netns[@]}"; do
  [ -e "/run/netns/$name" ] || continue
  for pid in $(ip netns pids "$name" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns delete "$name" 2>/dev/null || { umount -l "/run/netns/$name" 2>/dev/null || true; rm -f "/run/netns/$name"; }
done
if [ -e "$NETNS_PATH" ]; then
  ip netns delete "$NETNS" 2>/dev/null || { umount -l "$NETNS_PATH" 2>/dev/null || true; rm -f "$NETNS_PATH"; }
  say "removed network namespace ${NETNS} and its veth pair"
fi
ip link delete "$HOST_IF" 2>/dev/null || true

# Mounts under the cluster's directories (pod volumes, container root filesystems, shm), deepest first.
for dir in "$RUNDIR" "$STATE"; do
  for _ in 1 2 3; do
    mounts="$(awk -v prefix="$dir" '$5 == prefix || index($5, prefix "/") == 1 {print $5}' /proc/self/mountinfo | sort -r)"
    [ -n "$mounts" ] || break
    while read -r mountpoint; do
      mountpoint="$(printf '%b' "$mountpoint")"
      umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" 2>/dev/null || true
    done <<<"$mounts"
  done
done

# The cgroups kubelet made (kubepods, in each cgroup v1 hierarchy), once empty.
for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
  [ -d "$root" ] || continue
  find "$root" -depth -type d -exec rmdir {} \; 2>/dev/null || true
done

# kubelet links its containers' logs into /var/log/containers; those links point into our state.
for link in /var/log/containers/*.log; do
  [ -L "$link" ] || continue
  case "$(readlink "$link")" in "$STATE"/*) rm -f "$link" ;; esac
done
rmdir /var/log/containers 2>/dev/null || true

if [ -f "$STATE/made-workspace" ]; then rm -rf "$WORKSPACE"; fi
if [ "$(readlink /usr/local/bin/kubectl 2>/dev/null || true)" = "$K8S_BIN/kubectl" ]; then rm -f /usr/local/bin/kubectl; fi
rm -rf "$RUNDIR" "$STATE"

left="$(grep -c -e " ${RUNDIR}" -e " ${STATE}" /proc/self/mountinfo || true)"
[ "$left" = 0 ] || die "${left} mounts under ${RUNDIR} or ${STATE} are still there"
say "down: no process, network namespace, mount or rule of the cluster is left"
