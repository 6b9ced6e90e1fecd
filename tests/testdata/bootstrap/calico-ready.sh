#!/usr/bin/env bash
# Waits until Calico can take BGP objects: the Calico API server serves projectcalico.org/v3 and
# calico-node runs on every node. Runs on the controller; every wait is bounded.
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

# update_file PATH MODE: write standard input to PATH (below the root) when it differs from what is
# there. Succeeds when the file changed, fails when it was already up to date. Callers test its
# status, which turns errexit off inside it: a file it cannot write exits the script.
update_file() {
  local path="$root$1" mode=$2 tmp
  mkdir -p "$(dirname "$path")" || exit
  tmp=$(mktemp "$path.XXXXXX") || exit
  { cat >"$tmp" && chmod "$mode" "$tmp"; } || { rm -f "$tmp"; exit 1; }
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$path" || exit
  log "wrote $1"
}

# forget PATH: remove PATH (below the root) and exit the script, when applying the change
# update_file just made to PATH failed: the next run writes PATH again and applies it again.
forget() {
  rm -f "$root$1"
  log "failed to apply $1"
  exit 1
}

kubeconfig="$root/etc/kubernetes/admin.conf"
wait_for 900 "the projectcalico.org/v3 API (Calico API server)" \
  kubectl --kubeconfig "$kubeconfig" wait --for=condition=Available --timeout=10s apiservice/v3.projectcalico.org
wait_for 900 "calico-node on every node" \
  kubectl --kubeconfig "$kubeconfig" -n calico-system rollout status daemonset/calico-node --timeout=10s
log "Calico is ready"
