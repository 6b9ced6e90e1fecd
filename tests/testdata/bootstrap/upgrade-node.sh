#!/usr/bin/env bash
# Upgrades sv-worker-0 to Kubernetes 1.37.2 once its control plane runs it, as kubeadm's upgrade
# guide does a node: kubeadm 1.37.2, kubeadm upgrade node, the kubelet and kubectl, a kubelet
# restart, and the node Ready at the new version. Its drain and uncordon steps run on the
# controller. A node not joined yet is left alone (it joins at 1.37.2), and so is one whose
# kubelet already runs 1.37.2. Rendered by metalk8s; safe to run again.
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

# Package changes of the upgrade steps. installed PACKAGE prints its version, or nothing.
installed() {
  dpkg-query --show --showformat='${Version}' "$1" 2>/dev/null || true
}
# apt-get update takes the package lists' lock without waiting for it: retried for about three
# minutes. The lists are read again once per run: the preparation step may have skipped it.
apt_updated=0
apt_update() {
  if [ "$apt_updated" -eq 0 ]; then
    retry 10 apt-get update -q
    apt_updated=1
  fi
}
# install_held PACKAGE=VERSION...: install exactly these versions, keeping the configuration
# files metalk8s wrote (dpkg would ask on /dev/null and fail), and hold them again.
install_held() {
  local names=() p
  for p in "$@"; do names+=("${p%%=*}"); done
  apt_update
  apt-mark unhold "${names[@]}" >/dev/null
  retry 5 apt-get install -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    -y -q --allow-change-held-packages "$@"
  apt-mark hold "${names[@]}" >/dev/null
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
trap 'log "sv-worker-0: node upgrade step (Kubernetes 1.37.2) stopped: $BASH_COMMAND failed; the next pulumi up resumes here"' ERR
kubelet_conf="$root/etc/kubernetes/kubelet.conf"
target=v1.37.2
want=1.37.2-1.1
if [ ! -f "$kubelet_conf" ]; then
  log "sv-worker-0 has not joined: it joins at $target"
  exit 0
fi
if [ "$(installed kubelet)" = "$want" ] && [ "$(installed kubectl)" = "$want" ] && node_at "$kubelet_conf" sv-worker-0 "$target"; then
  log "sv-worker-0 already runs $target"
  exit 0
fi
if [ "$(installed kubeadm)" != "$want" ]; then
  install_held "kubeadm=$want"
fi
kubeadm upgrade node >&2
if [ "$(installed kubelet)" != "$want" ] || [ "$(installed kubectl)" != "$want" ]; then
  install_held "kubelet=$want" "kubectl=$want"
fi
systemctl daemon-reload
systemctl restart kubelet
wait_for 300 "sv-worker-0 to be Ready at $target" node_at "$kubelet_conf" sv-worker-0 "$target"
log "sv-worker-0 runs $target"
}
