#!/usr/bin/env bash
# Brings up a real single-node Kubernetes cluster on this machine, for the end-to-end tests
# (npm run cluster:up). Idempotent: a healthy cluster is left as it is; a partial one is torn down
# (scripts/cluster/down.sh) and started again. What it runs:
#   - Kubernetes (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy,
#     kubectl) built from the Go module proxy once, cached under /var/cache/multiclaude/k8s/<release>
#     (scripts/cluster/build-kubernetes.sh), and CoreDNS likewise (build-coredns.sh);
#   - etcd, containerd, runc and the CNI plugins from Debian's packages;
#   - the node in its own network namespace ("multiclaude-k8s"), reached from this machine over a
#     veth pair at NODE_ADDRESS; every daemon runs in it, so nothing listens beyond this machine;
#   - a pause image built here (pause.c) and CoreDNS imported into the node's containerd;
#   - a default StorageClass served by provisioner.sh (a hostPath directory per claim);
#   - RuntimeClass no-network: runc, with a CNI network of its own that reaches nothing (a macvlan
#     device in private mode on a bridge with no port and no address): the agents' pods, since nothing
#     here can enforce a NetworkPolicy (see the README);
#   - /data/claude-workspace, owned by uid 10001, for the project's workspace hostPath.
# Its last two lines are KUBECONFIG=<path> and NODE_ADDRESS=<address>. kubectl is linked into
# /usr/local/bin. Undo everything with npm run cluster:down.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

case "${1:-}" in
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    echo "Usage: scripts/cluster/up.sh   (npm run cluster:up; root only)"
    exit 0
    ;;
  '') ;;
  *) die "unknown argument: $1" ;;
esac
[ "$(id -u)" -eq 0 ] || die "needs root (it creates a network namespace and runs the node's daemons)"
start=$SECONDS

# ---------------------------------------------------------------------------------------------------
# Debian packages and the Kubernetes build.
packages=(docker.io containerd runc containernetworking-plugins etcd-server iptables iproute2 conntrack openssl jq curl gcc libc6-dev util-linux)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (start dockerd first, as .ci/run does): the pause and CoreDNS images are made with docker import, and the project's sandboxes run on it"

nice -n 10 bash "$HERE/build-kubernetes.sh"
nice -n 10 bash "$HERE/build-coredns.sh"

healthy() {
  [ -e "$NETNS_PATH" ] && [ -f "$KUBECONFIG_ADMIN" ] || return 1
  local name
  for name in etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy provisioner; do
    running "$name" || return 1
  done
  kube get --raw /readyz >/dev/null 2>&1 &&
    [ "$(kube get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

if healthy; then
  say "already up and healthy"
else
  if [ -e "$NETNS_PATH" ] || [ -d "$RUNDIR" ]; then
    say "a partial cluster is here: tearing it down first"
    bash "$HERE/down.sh"
  fi

  # -------------------------------------------------------------------------------------------------
  # The node's network namespace and its veth pair.
  say "network namespace ${NETNS}: node ${NODE_ADDRESS}, this machine ${HOST_ADDRESS} (veth ${HOST_IF})"
  mkdir -p "$RUNDIR/pids" "$LOGS" "$STATE"
  ip netns add "$NETNS"
  ip link add "$HOST_IF" type veth peer name "mck8s-node"
  ip link set "mck8s-node" netns "$NETNS"
  ip addr add "$HOST_ADDRESS/$NODE_PREFIX" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  in_node ip link set lo up
  # A bridge with no port and no address: what is sent through it goes nowhere (the kernel has no dummy links).
  in_node ip link add "$NO_NETWORK_LINK" type bridge
  in_node ip link set "$NO_NETWORK_LINK" up
  in_node ip link set "mck8s-node" name "$NODE_IF"
  in_node ip addr add "$NODE_ADDRESS/$NODE_PREFIX" dev "$NODE_IF"
  in_node ip link set "$NODE_IF" up
  in_node ip route add default via "$HOST_ADDRESS"
  # Per-namespace: pods reach services through the bridge (br_netfilter), and the node routes for its pods.
  in_node sysctl -qw net.ipv4.ip_forward=1
  in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || say "warning: net.bridge.bridge-nf-call-iptables is not settable in the node's namespace"

  # -------------------------------------------------------------------------------------------------
  # Certificates and kubeconfigs (kept across restarts; cluster:down removes them).
  if [ ! -f "$PKI/ca.crt" ]; then
    say "creating the cluster's certificates"
    mkdir -p "$PKI"
    (
      cd "$PKI"
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=multiclaude-test-ca" 2>/dev/null
      cert() { # name, subject, extendedKeyUsage, subjectAltName (optional)
        openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
        {
          echo "basicConstraints=CA:FALSE"
          echo "keyUsage=critical,digitalSignature,keyEncipherment"
          echo "extendedKeyUsage=$3"
          [ -z "${4:-}" ] || echo "subjectAltName=$4"
        } >"$1.ext"
        openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out "$1.crt" -extfile "$1.ext" 2>/dev/null
        rm -f "$1.csr" "$1.ext"
      }
      cert apiserver "/CN=kube-apiserver" serverAuth \
        "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.${CLUSTER_DOMAIN},DNS:localhost,IP:${NODE_ADDRESS},IP:${KUBERNETES_SERVICE_IP},IP:127.0.0.1"
      cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
      cert admin "/O=system:masters/CN=kubernetes-admin" clientAuth
      cert controller-manager "/CN=system:kube-controller-manager" clientAuth
      cert scheduler "/CN=system:kube-scheduler" clientAuth
      cert kubelet "/O=system:nodes/CN=system:node:${NODE_NAME}" clientAuth
      cert kube-proxy "/CN=system:kube-proxy" clientAuth
      openssl genrsa -out sa.key 2048 2>/dev/null
      openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
      chmod 600 ./*.key
    )
  fi
  for who in admin controller-manager scheduler kubelet kube-proxy; do
    file="$STATE/$who.kubeconfig"
    [ -f "$file" ] && continue
    kubectl config set-cluster multiclaude --kubeconfig "$file" --server "https://${NODE_ADDRESS}:6443" --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
    kubectl config set-credentials "$who" --kubeconfig "$file" --client-certificate "$PKI/$who.crt" --client-key "$PKI/$who.key" --embed-certs >/dev/null
    kubectl config set-context multiclaude --kubeconfig "$file" --cluster multiclaude --user "$who" >/dev/null
    kubectl config use-context multiclaude --kubeconfig "$file" >/dev/null
    chmod 600 "$file"
  done

  # -------------------------------------------------------------------------------------------------
  # The daemons, each in the node's network namespace, in its own session, logging to $LOGS.
  start_daemon() { # name, command...
    local name="$1"
    shift
    printf '%s' "$1" >"$RUNDIR/pids/$name.cmd"
    nsenter --net="$NETNS_PATH" -- setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
    echo $! >"$RUNDIR/pids/$name.pid"
    say "started ${name} (pid $!, log ${LOGS}/${name}.log)"
  }
  wait_for() { # what, seconds, log name, command...
    local what="$1" seconds="$2" log="$3" i
    shift 3
    for ((i = 0; i < seconds; i++)); do
      if "$@" >/dev/null 2>&1; then return 0; fi
      if [ -n "$log" ] && ! running "$log"; then
        tail -n 30 "$LOGS/$log.log" >&2 || true
        die "$log exited while waiting for ${what} (log above: ${LOGS}/${log}.log)"
      fi
      sleep 1
    done
    [ -z "$log" ] || tail -n 30 "$LOGS/$log.log" >&2 || true
    die "timed out after ${seconds}s waiting for ${what}"
  }

  mkdir -p "$STATE/etcd"
  chmod 700 "$STATE/etcd"
  start_daemon etcd "$(command -v etcd)" --name node --data-dir "$STATE/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster node=http://127.0.0.1:2380 --initial-cluster-state new --log-level warn

  # containerd: a second instance beside Docker's own, with its own root, state and socket.
  mkdir -p "$STATE/containerd" "$STATE/cni/net.d" "$STATE/cni/ipam" "$STATE/cni/no-network.d" "$STATE/cni/no-network-ipam" "$RUNDIR/containerd"
  cat >"$STATE/containerd/config.toml" <<TOML
version = 2
root = "$STATE/containerd/root"
state = "$RUNDIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$RUNDIR/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # CAP_SYS_RESOURCE is not ours to have here: without this runc fails writing oom_score_adj.
  restrict_oom_score_adj = true
  enable_unprivileged_ports = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
    # RuntimeClass no-network: runc, with the CNI network of no-network.d instead of the pod network.
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc-no-network]
      runtime_type = "io.containerd.runc.v2"
      cni_conf_dir = "$STATE/cni/no-network.d"
      cni_max_conf_num = 1
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc-no-network.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
TOML
  cat >"$STATE/cni/net.d/10-multiclaude.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "multiclaude",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{ "subnet": "$NODE_POD_SUBNET" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
  # The pod gets an address (the CRI wants one) on a device that can send to nothing: macvlan in private
  # mode talks neither to its siblings nor to the node, its parent bridge has no port to send to, and
  # there is no route but the device's own /24.
  cat >"$STATE/cni/no-network.d/10-no-network.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "multiclaude-no-network",
  "plugins": [
    {
      "type": "macvlan",
      "master": "$NO_NETWORK_LINK",
      "mode": "private",
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/no-network-ipam",
        "ranges": [[{ "subnet": "$NO_NETWORK_SUBNET" }]]
      }
    }
  ]
}
JSON
  start_daemon containerd "$(command -v containerd)" --config "$STATE/containerd/config.toml"

  start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
    --advertise-address "$NODE_ADDRESS" --bind-address "$NODE_ADDRESS" --secure-port 6443 \
    --etcd-servers http://127.0.0.1:2379 \
    --service-cluster-ip-range "$SERVICE_CIDR" --service-node-port-range 30000-32767 \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --service-account-issuer "https://kubernetes.default.svc.${CLUSTER_DOMAIN}" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --profiling=false --v=1

  wait_for "etcd" 60 etcd in_node curl -fsS --max-time 2 http://127.0.0.1:2379/health
  wait_for "containerd" 60 containerd ctr --address "$CONTAINERD_SOCK" version
  wait_for "the API server (/readyz)" 180 kube-apiserver kube get --raw /readyz

  start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$POD_CIDR" --allocate-node-cidrs=false \
    --profiling=false --v=1
  start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE/scheduler.kubeconfig" --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false --v=1

  # The pause image, built here: no registry serves registry.k8s.io/pause.
  import_image() { # image ref, cached tarball, directory holding the root filesystem, docker import --change...
    local ref="$1" tarball="$2" rootfs="$3"
    shift 3
    if [ ! -s "$tarball" ]; then
      local changes=() change
      for change in "$@"; do changes+=(--change "$change"); done
      tar -C "$rootfs" -c . | docker import "${changes[@]}" - "$ref" >/dev/null
      docker save "$ref" >"$tarball.tmp"
      mv "$tarball.tmp" "$tarball"
      docker rmi "$ref" >/dev/null
    fi
    ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$tarball" >/dev/null
    say "imported ${ref} into the node's containerd"
  }
  images="$CACHE/images"
  mkdir -p "$images"
  if [ ! -s "$images/pause.tar" ]; then
    rm -rf "$images/pause-root" && mkdir -p "$images/pause-root"
    gcc -Os -static -Wall -o "$images/pause-root/pause" "$HERE/pause.c"
    strip "$images/pause-root/pause" 2>/dev/null || true
  fi
  import_image "$PAUSE_IMAGE" "$images/pause.tar" "$images/pause-root" 'ENTRYPOINT ["/pause"]' 'USER 65535:65535'
  if [ ! -s "$images/coredns-$COREDNS_VERSION.tar" ]; then
    rm -rf "$images/coredns-root" && mkdir -p "$images/coredns-root"
    cp "$COREDNS_BIN" "$images/coredns-root/coredns"
  fi
  import_image "$COREDNS_IMAGE" "$images/coredns-$COREDNS_VERSION.tar" "$images/coredns-root" 'ENTRYPOINT ["/coredns"]' 'USER 65532:65532'

  # kubelet: cgroup v1 (hybrid) with the cgroupfs driver, images never garbage-collected (they were
  # imported, nothing can pull them again), low eviction thresholds for a small shared machine.
  mkdir -p "$STATE/kubelet" "$STATE/pod-logs"
  cat >"$STATE/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${NODE_ADDRESS}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${PKI}/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failCgroupV1: false
containerRuntimeEndpoint: unix://${CONTAINERD_SOCK}
clusterDomain: ${CLUSTER_DOMAIN}
clusterDNS: [${DNS_SERVICE_IP}]
podLogsDir: ${STATE}/pod-logs
failSwapOn: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
maxPods: 50
YAML
  start_daemon kubelet "$K8S_BIN/kubelet" --config "$STATE/kubelet-config.yaml" \
    --kubeconfig "$STATE/kubelet.kubeconfig" --hostname-override "$NODE_NAME" --node-ip "$NODE_ADDRESS" \
    --root-dir "$STATE/kubelet" --cert-dir "$STATE/kubelet/pki" --v=1

  cat >"$STATE/kube-proxy-config.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${STATE}/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: ${POD_CIDR}
hostnameOverride: ${NODE_NAME}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["${NODE_ADDRESS}/32"]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  start_daemon kube-proxy "$K8S_BIN/kube-proxy" --config "$STATE/kube-proxy-config.yaml" --v=1

  mkdir -p "$STATE/volumes"
  start_daemon provisioner /bin/bash "$HERE/provisioner.sh"

  wait_for "the node to be Ready" 180 kubelet \
    sh -c "[ \"\$(kubectl --kubeconfig '$KUBECONFIG_ADMIN' get node '$NODE_NAME' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
  # The node's CRI socket, where kubeadm records it: scripts/deploy.sh finds the node's containerd by it.
  kube annotate node "$NODE_NAME" --overwrite "kubeadm.alpha.kubernetes.io/cri-socket=unix://${CONTAINERD_SOCK}" >/dev/null
fi

# -----------------------------------------------------------------------------------------------------
# Cluster add-ons: DNS, the default StorageClass and RuntimeClass no-network (applied every time; unchanged objects stay as they are).
sed -e "s|@DNS_SERVICE_IP@|${DNS_SERVICE_IP}|g" -e "s|@COREDNS_IMAGE@|${COREDNS_IMAGE}|g" -e "s|@CLUSTER_DOMAIN@|${CLUSTER_DOMAIN}|g" \
  "$HERE/addons.yaml" | kube apply -f - >/dev/null
if ! kube rollout status deployment/coredns -n kube-system --timeout=180s >/dev/null; then
  kube get pods -n kube-system -o wide >&2 || true
  kube describe pods -n kube-system -l k8s-app=kube-dns | tail -n 20 >&2 || true
  die "CoreDNS did not become ready"
fi

# The project's workspace, a plain directory of this machine, which is the node.
if [ ! -d "$WORKSPACE" ]; then mkdir -p "$WORKSPACE" && touch "$STATE/made-workspace"; fi
chown "$WORKSPACE_UID:$WORKSPACE_UID" "$WORKSPACE"

ln -sf "$K8S_BIN/kubectl" /usr/local/bin/kubectl
say "up in $((SECONDS - start))s: Kubernetes $(kube version -o json | jq -r .serverVersion.gitVersion), node ${NODE_NAME} Ready, containerd $(ctr --address "$CONTAINERD_SOCK" version 2>/dev/null | sed -n 's/^ *Version: *//p' | tail -1)"
echo "KUBECONFIG=${KUBECONFIG_ADMIN}"
echo "NODE_ADDRESS=${NODE_ADDRESS}"
