#!/usr/bin/env bash
# Waits until Calico can take BGP objects: the Calico API server serves projectcalico.org/v3 and
# calico-node runs on every node. Runs on the controller; every wait is bounded.
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
wait_for 900 "the projectcalico.org/v3 API (Calico API server)" \
  kubectl --kubeconfig "$kubeconfig" wait --for=condition=Available --timeout=10s apiservice/v3.projectcalico.org
wait_for 900 "calico-node on every node" \
  kubectl --kubeconfig "$kubeconfig" -n calico-system rollout status daemonset/calico-node --timeout=10s
log "Calico is ready"
}
