#!/usr/bin/env bash
# Waits until sv-worker-0 is registered in the cluster, then deletes its join token: a registered
# node has its own credentials, and no join credential outlives its join. Runs on the controller;
# the delete action of this step drains and removes the node (metalk8s-remove-node).
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

kubeconfig="$root/etc/kubernetes/admin.conf"
wait_for 600 "node sv-worker-0 to register" \
  kubectl --kubeconfig "$kubeconfig" get node "sv-worker-0"
log "sv-worker-0 is registered"
if kubectl --kubeconfig "$kubeconfig" -n kube-system get secret "bootstrap-token-eooxkl" >/dev/null 2>&1; then
  kubectl --kubeconfig "$kubeconfig" -n kube-system delete secret "bootstrap-token-eooxkl" --ignore-not-found >&2
  log "the join token of sv-worker-0 is deleted"
fi
}
