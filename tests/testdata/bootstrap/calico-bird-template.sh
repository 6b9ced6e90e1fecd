#!/usr/bin/env bash
# Prints the stock BIRD template of the running Calico version (3.31.7), so that metalk8s can
# add the passive 127.0.0.1 peer to it. Runs on the controller. The template is read from a fresh
# container of calico-node's own image: in calico-node itself the file is hidden by the edited
# template metalk8s published, which would never follow a Calico upgrade.
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

# retry ATTEMPTS COMMAND...: run COMMAND until it succeeds, at most ATTEMPTS times, waiting
# 2, 4, 8 ... 30 seconds between attempts. For network operations that fail transiently.
retry() {
  local attempts=$1 n=1 delay=2
  shift
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      log "giving up after $n attempts: $*"
      return 1
    fi
    log "attempt $n of $attempts failed, retrying in ${delay}s: $*"
    sleep "$delay"
    n=$((n + 1))
    delay=$((delay * 2))
    if [ "$delay" -gt 30 ]; then delay=30; fi
  done
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
ns=calico-system
pod=metalk8s-bird-template
k() {
  kubectl --kubeconfig "$kubeconfig" -n "$ns" "$@"
}
succeeded() {
  [ "$(k get pod "$pod" -o 'jsonpath={.status.phase}')" = Succeeded ]
}

image=$(k get daemonset calico-node -o 'jsonpath={.spec.template.spec.containers[?(@.name=="calico-node")].image}')
if [ -z "$image" ]; then
  log "no calico-node image found in $ns"
  exit 1
fi
k delete pod "$pod" --ignore-not-found >&2
retry 5 k run "$pod" --image="$image" --restart=Never --command -- cat /etc/calico/confd/templates/bird.cfg.template >&2
wait_for 300 "the template read from $image" succeeded
# Read it whole before printing, so a failure never leaves half a template on stdout.
template=$(k logs "$pod")
k delete pod "$pod" --ignore-not-found >&2
printf '%s\n' "$template"
}
