#!/usr/bin/env bash
# The test cluster's volume provisioner (started by up.sh, stopped by down.sh): for each claim of the
# StorageClass local-hostpath it makes a directory under /var/lib/multiclaude-k8s/volumes and a
# hostPath PersistentVolume bound to that claim; when the claim is deleted it removes both.
# The directories are mode 0777: hostPath volumes do not honour a pod's fsGroup.
set -euo pipefail

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  echo "Usage: scripts/cluster/provisioner.sh   (started and stopped by up.sh and down.sh)"
  exit 0
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
PROVISIONER="multiclaude.local/hostpath"
CLASS="local-hostpath"

while true; do
  if state="$(kube get pvc,pv -A -o json 2>/dev/null)"; then
    jq -r --arg class "$CLASS" '.items[] | select(.kind == "PersistentVolumeClaim" and .status.phase == "Pending"
        and (.spec.volumeName // "") == "" and .spec.storageClassName == $class)
      | [.metadata.namespace, .metadata.name, .metadata.uid, .spec.resources.requests.storage, (.spec.accessModes | join(","))] | @tsv' <<<"$state" |
      while IFS=$'\t' read -r namespace name uid size modes; do
        volume="pvc-${uid}"
        mkdir -p "$STATE/volumes/$volume"
        chmod 0777 "$STATE/volumes/$volume"
        if kube apply -f - >/dev/null <<YAML; then
apiVersion: v1
kind: PersistentVolume
metadata:
  name: ${volume}
  annotations:
    pv.kubernetes.io/provisioned-by: ${PROVISIONER}
spec:
  storageClassName: ${CLASS}
  capacity: {storage: ${size}}
  accessModes: [${modes}]
  persistentVolumeReclaimPolicy: Delete
  hostPath: {path: ${STATE}/volumes/${volume}, type: Directory}
  claimRef: {namespace: ${namespace}, name: ${name}, uid: ${uid}}
YAML
          echo "$(date -u +%FT%TZ) provisioned ${volume} (${size}) for ${namespace}/${name}"
        fi
      done
    jq -r --arg provisioner "$PROVISIONER" '.items[] | select(.kind == "PersistentVolume"
        and .metadata.annotations["pv.kubernetes.io/provisioned-by"] == $provisioner
        and (.status.phase == "Released" or .status.phase == "Failed")) | .metadata.name' <<<"$state" |
      while read -r volume; do
        case "$volume" in pvc-*) ;; *) continue ;; esac
        rm -rf "${STATE:?}/volumes/${volume}"
        kube delete pv "$volume" --wait=false >/dev/null && echo "$(date -u +%FT%TZ) deleted ${volume}"
      done
  fi
  sleep 4
done
