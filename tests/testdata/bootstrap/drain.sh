#!/usr/bin/env bash
# Drains sv-worker-0 before its upgrade to Kubernetes 1.37.2. Runs on the controller. A node
# already at 1.37.2, or not in the cluster yet (it joins at 1.37.2), is left alone. The
# node is annotated metalk8s.io/upgrading when this step cordons it, so that its uncordon step
# makes it schedulable again, and only then: a node someone cordoned stays cordoned; and
# metalk8s.io/drained once drained, so that running this again does nothing. Rendered by metalk8s.
# The script arrives on standard input (bash -s). Its body is one block, closed on its last line:
# bash reads the whole block before running any of it, and every command then reads /dev/null, so
# a child that reads standard input (a dpkg prompt) cannot eat the rest of the script.
{
exec </dev/null
set -o errexit -o nounset -o pipefail
export DEBIAN_FRONTEND=noninteractive
# Files are written below METALK8S_ROOT (empty on a node), which lets tests run this in a scratch tree.
root="${METALK8S_ROOT:-}"

log() {
  printf 'metalk8s: %s\n' "$*" >&2
}

# node_field KUBECONFIG NODE JSONPATH: print a field of a Node object.
node_field() {
  kubectl --kubeconfig "$1" get node "$2" -o "jsonpath=$3"
}
# node_at KUBECONFIG NODE VERSION: succeed when NODE's kubelet reports VERSION and NODE is Ready.
# The kubelet reports the version of the binary running, so a kubelet not restarted after its
# package changed does not pass.
node_at() {
  [ "$(node_field "$1" "$2" '{.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status}')" = "$3 True" ]
}

set -o errtrace
trap 'log "sv-worker-0: drain step (Kubernetes 1.37.2) stopped: $BASH_COMMAND failed; the next pulumi up resumes here"' ERR
admin="$root/etc/kubernetes/admin.conf"
target=v1.37.2
if ! kubectl --kubeconfig "$admin" get node sv-worker-0 >/dev/null 2>&1; then
  log "sv-worker-0 is not in the cluster: it joins at $target"
  exit 0
fi
if [ "$(node_field "$admin" sv-worker-0 '{.status.nodeInfo.kubeletVersion}')" = "$target" ]; then
  log "sv-worker-0 already runs $target"
  exit 0
fi
if [ "$(node_field "$admin" sv-worker-0 '{.metadata.annotations.metalk8s\.io/drained}')" = "$target" ]; then
  log "sv-worker-0 is already drained for $target"
  exit 0
fi
if [ "$(node_field "$admin" sv-worker-0 '{.spec.unschedulable}')" != true ]; then
  kubectl --kubeconfig "$admin" annotate node sv-worker-0 --overwrite "metalk8s.io/upgrading=$target" >&2
fi
# No --force: a pod no controller would recreate stops the drain, and the upgrade, here.
kubectl --kubeconfig "$admin" drain sv-worker-0 --ignore-daemonsets --delete-emptydir-data \
  --grace-period=60 --timeout=300s >&2
kubectl --kubeconfig "$admin" annotate node sv-worker-0 --overwrite "metalk8s.io/drained=$target" >&2
log "sv-worker-0 is drained"
}
