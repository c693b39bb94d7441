#!/usr/bin/env bash
# Builds the Kubernetes binaries this test cluster needs (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy, kubectl) from the Go module proxy, once, into a folder named
# by the release: $MULTICLAUDE_CACHE/k8s/<release>/bin. Does nothing when that folder is complete.
#
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, ...) at v0.0.0 and
# replaces them with local paths, which a dependency's go.mod cannot do. So a small wrapper module
# replaces each staging module the release requires at v0.0.0 with its published v0.<minor>.<patch>,
# copies the release's go and godebug lines, and builds the cmd/ packages with the version stamped
# the way Kubernetes' own build does (-ldflags -X ...version.gitVersion=...).
# The Go build cache and module cache live under $MULTICLAUDE_CACHE too, so a rebuild is fast.
set -euo pipefail

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  echo "Usage: scripts/cluster/build-kubernetes.sh   (env K8S_VERSION, MULTICLAUDE_CACHE)"
  exit 0
fi

K8S_VERSION="${K8S_VERSION:-v1.35.4}"
CACHE="${MULTICLAUDE_CACHE:-/var/cache/multiclaude}"
BIN="$CACHE/k8s/$K8S_VERSION/bin"
WRAPPER="$CACHE/k8s/$K8S_VERSION/wrapper"
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

complete() {
  local c
  for c in "${COMPONENTS[@]}"; do [ -x "$BIN/$c" ] || return 1; done
}
if complete; then
  echo "Kubernetes $K8S_VERSION: cached in $BIN"
  exit 0
fi

command -v go >/dev/null || { echo "build-kubernetes: Go is not installed (need Go >= 1.25)" >&2; exit 1; }
export GOCACHE="$CACHE/go-build" GOMODCACHE="$CACHE/gomod" GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local
mkdir -p "$BIN" "$WRAPPER" "$GOCACHE" "$GOMODCACHE"
start=$SECONDS
echo "Kubernetes $K8S_VERSION: building ${COMPONENTS[*]} into $BIN ($(go version))"

# The release's own go.mod says which staging modules it requires at v0.0.0.
release_mod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
[ -f "$release_mod" ] || { echo "build-kubernetes: k8s.io/kubernetes@$K8S_VERSION is not served by the Go module proxy" >&2; exit 1; }
staging_version="v0.${K8S_VERSION#v1.}"
mapfile -t staging < <(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$release_mod" | sort -u)
[ ${#staging[@]} -gt 0 ] || { echo "build-kubernetes: no staging modules found in $release_mod" >&2; exit 1; }

{
  echo "module multiclaude.local/k8s-build"
  echo
  grep -E '^go [0-9]' "$release_mod"
  grep -E '^godebug ' "$release_mod" || true
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  for module in "${staging[@]}"; do echo "	$module => $module $staging_version"; done
  echo ")"
} >"$WRAPPER/go.mod"
printf 'package k8sbuild\n' >"$WRAPPER/doc.go"

cd "$WRAPPER"
packages=()
for c in "${COMPONENTS[@]}"; do packages+=("k8s.io/kubernetes/cmd/$c"); done
go get "${packages[@]/%/@$K8S_VERSION}"

minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
commit="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Hash": "\(.*\)".*/\1/p' | head -1)"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  [ -n "$commit" ] && ldflags+=" -X $pkg.gitCommit=$commit"
done

for c in "${COMPONENTS[@]}"; do
  [ -x "$BIN/$c" ] && continue
  echo "  go build $c ($((SECONDS - start))s)"
  go build -trimpath -ldflags "$ldflags" -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c"
  mv "$BIN/$c.tmp" "$BIN/$c"
done
"$BIN/kubectl" version --client 2>/dev/null | head -1
echo "Kubernetes $K8S_VERSION: built in $((SECONDS - start))s into $BIN"
