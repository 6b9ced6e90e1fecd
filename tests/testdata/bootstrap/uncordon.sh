#!/usr/bin/env bash
# Makes sv-worker-0 schedulable again after its upgrade to Kubernetes 1.37.2, once it is Ready at
# that version. Runs on the controller. Only a node its drain step cordoned (annotated
# metalk8s.io/upgrading) is uncordoned. Rendered by metalk8s; safe to run again.
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

# wait_for SECONDS WHAT COMMAND...: wait until COMMAND succeeds, checking every 5 seconds, and
# fail with a message naming WHAT after SECONDS.
wait_for() {
  local limit=$1 what=$2 waited=0
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [ "$waited" -ge "$limit" ]; then
      log "timed out after ${limit}s waiting for $what"
      return 1
    fi
    sleep 5
    waited=$((waited + 5))
  done
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
trap 'log "sv-worker-0: uncordon step (Kubernetes 1.37.2) stopped: $BASH_COMMAND failed; the next pulumi up resumes here"' ERR
admin="$root/etc/kubernetes/admin.conf"
target=v1.37.2
if ! kubectl --kubeconfig "$admin" get node sv-worker-0 >/dev/null 2>&1; then
  log "sv-worker-0 is not in the cluster: nothing to uncordon"
  exit 0
fi
cordoned=$(node_field "$admin" sv-worker-0 '{.metadata.annotations.metalk8s\.io/upgrading}')
drained=$(node_field "$admin" sv-worker-0 '{.metadata.annotations.metalk8s\.io/drained}')
if [ -z "$cordoned$drained" ]; then
  log "sv-worker-0 was not drained for an upgrade"
  exit 0
fi
wait_for 300 "sv-worker-0 to be Ready at $target" node_at "$admin" sv-worker-0 "$target"
if [ -n "$cordoned" ]; then
  kubectl --kubeconfig "$admin" uncordon sv-worker-0 >&2
  kubectl --kubeconfig "$admin" annotate node sv-worker-0 metalk8s.io/upgrading- >&2
fi
if [ -n "$drained" ]; then
  kubectl --kubeconfig "$admin" annotate node sv-worker-0 metalk8s.io/drained- >&2
fi
log "sv-worker-0 is upgraded and schedulable again"
}
