#!/usr/bin/env bash
# Runs the end-to-end tests on the test cluster (npm run test:cluster): backend/orchestrator/test/cluster/
# with MULTICLAUDE_CLUSTER_KUBECONFIG set, by default to the kubeconfig scripts/cluster/up.sh writes.
# Fails, rather than skipping, when there is no cluster to test.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  echo "Usage: scripts/cluster/test.sh   (env MULTICLAUDE_CLUSTER_KUBECONFIG)"
  exit 0
fi
export MULTICLAUDE_CLUSTER_KUBECONFIG="${MULTICLAUDE_CLUSTER_KUBECONFIG:-$KUBECONFIG_ADMIN}"
[ -r "$MULTICLAUDE_CLUSTER_KUBECONFIG" ] || die "no cluster: ${MULTICLAUDE_CLUSTER_KUBECONFIG} is not readable (npm run cluster:up first)"
KUBECONFIG="$MULTICLAUDE_CLUSTER_KUBECONFIG" kubectl get --raw /readyz >/dev/null ||
  die "the cluster in ${MULTICLAUDE_CLUSTER_KUBECONFIG} does not answer (npm run cluster:up)"
cd "$ROOT"
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec backend/orchestrator/test/cluster/*.test.ts
