#!/usr/bin/env bash
# Joins sv-worker-0 to the cluster with kubeadm. Rendered by metalk8s; safe to run again: a node whose
# join finished is left as it is, one whose join was cut short is reset and joined again, and one
# joined to a control plane that has moved (a new controller, another API port) is reset and
# joins the control plane at 198.51.100.1:6443. The kubeadm join file holds the node's join token: it
# exists only while this script runs (kubeadm itself deletes the kubelet's bootstrap kubeconfig,
# the token's other copy, once the kubelet has its certificate).
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

# api_server KUBECONFIG: print the host:port of the API server a kubeconfig written by kubeadm
# talks to (its one cluster's server).
api_server() {
  sed -n 's|^ *server: https://||p' "$1"
}

kubelet_conf="$root/etc/kubernetes/kubelet.conf"
finished="$root/etc/metalk8s/join.finished"
join_file="$root/etc/metalk8s/kubeadm-join.yaml"
if [ -f "$join_file" ]; then
  # Left by an earlier metalk8s, which kept it, with the join token every worker shared.
  rm -f "$join_file"
  log "removed the join file an earlier run left"
fi
endpoint="198.51.100.1:6443"
if [ ! -f "$finished" ] && [ -f "$kubelet_conf" ]; then
  # kubeadm join ran, but this script did not see it finish: keep a node the cluster knows,
  # reset one it does not.
  if kubectl --kubeconfig "$kubelet_conf" get node "sv-worker-0" >/dev/null 2>&1; then
    mkdir -p "$(dirname "$finished")"
    : >"$finished"
  else
    log "an earlier kubeadm join did not finish: resetting sv-worker-0 before joining again"
    kubeadm reset --force >&2
  fi
fi
if [ -f "$finished" ] && [ "$(api_server "$kubelet_conf")" != "$endpoint" ]; then
  log "sv-worker-0 is joined to the control plane at $(api_server "$kubelet_conf"), which is now at $endpoint: resetting sv-worker-0 to join it"
  kubeadm reset --force >&2
  rm -f "$finished"
fi
if [ -f "$finished" ]; then
  log "sv-worker-0 has already joined"
  exit 0
fi
trap 'rm -f "$join_file"' EXIT
update_file /etc/metalk8s/kubeadm-join.yaml 0600 <<'KUBEADM' || true
apiVersion: kubeadm.k8s.io/v1beta4
discovery:
  bootstrapToken:
    apiServerEndpoint: 198.51.100.1:6443
    caCertHashes:
    - sha256:4bb1db4a869fc9f717f23ecfc03efaac5415ac9f3e7ae7e9bb4e11243634ec8d
    token: eooxkl.2kuic8ebrb7vwops
kind: JoinConfiguration
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  kubeletExtraArgs:
  - name: node-ip
    value: 198.51.100.3
  - name: address
    value: 198.51.100.3
  - name: node-labels
    value: metalk8s.io/metallb-speaker=true
  name: sv-worker-0
  taints: null
KUBEADM
# Discovery retries on its own until the API server answers, bounded by the config's timeouts.
kubeadm join --config "$root/etc/metalk8s/kubeadm-join.yaml" >&2
mkdir -p "$(dirname "$finished")"
: >"$finished"
log "sv-worker-0 joined"
}
