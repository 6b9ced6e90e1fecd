#!/usr/bin/env bash
# Initialises the control plane on sv-controller with kubeadm, using the cluster CA metalk8s generated.
# It prints nothing on standard output: the kubeconfig metalk8s exports is its own. Rendered by
# metalk8s; safe to run again: a control plane whose init finished is left as it is, one whose init was cut short
# is reset and initialised again, and one that serves at another address or port is refused.
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

admin="$root/etc/kubernetes/admin.conf"
finished="$root/etc/metalk8s/init.finished"
api_ready() {
  kubectl --kubeconfig "$admin" get --raw /readyz
}
if [ ! -f "$finished" ] && [ -f "$admin" ]; then
  # kubeadm init ran, but this script did not see it finish: keep a control plane that answers,
  # reset one that does not.
  if wait_for 120 "the existing API server on sv-controller" api_ready; then
    mkdir -p "$(dirname "$finished")"
    : >"$finished"
  else
    log "an earlier kubeadm init did not finish: resetting sv-controller before initialising again"
    kubeadm reset --force >&2
  fi
fi
# kubeadm writes its controlPlaneEndpoint into the admin kubeconfig.
if [ -f "$finished" ] && [ "$(api_server "$admin")" != "198.51.100.1:6443" ]; then
  log "the control plane on sv-controller serves at $(api_server "$admin"), not at 198.51.100.1:6443: kubeadm cannot move a running control plane; set kubernetes.apiPort back, or build a new cluster"
  exit 1
fi
if [ -f "$finished" ]; then
  log "the control plane is already initialised"
else
  mkdir -p "$root/etc/kubernetes/pki"
  update_file /etc/kubernetes/pki/ca.crt 0644 <<'CACERT' || true
-----BEGIN CERTIFICATE-----
MIIBGjCBzaADAgECAgEBMAUGAytlcDAVMRMwEQYDVQQDEwprdWJlcm5ldGVzMB4X
DTI2MDEwMTAwMDAwMFoXDTM2MDEwMTAwMDAwMFowFTETMBEGA1UEAxMKa3ViZXJu
ZXRlczAqMAUGAytlcAMhAMu1ijAM3emDoDa/juBKUq/57BCFQ0ezXtuKZ+vD5C0H
o0IwQDAOBgNVHQ8BAf8EBAMCAoQwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQU
dslzQaaVPiI/Ij7fgcFgH57H4B8wBQYDK2VwA0EAzbsSShVJpUH9suW6RqwH0FRH
H+3L8K4K5ldYUgo6qVCgpMuobBHMfzMw0Yvnrzt9GDqDRODqDGmBLC9siBk2CA==
-----END CERTIFICATE-----
CACERT
  update_file /etc/kubernetes/pki/ca.key 0600 <<'CAKEY' || true
-----BEGIN EC PRIVATE KEY-----
c2ltdWxhdGVk
-----END EC PRIVATE KEY-----
CAKEY
  update_file /etc/metalk8s/kubeadm-init.yaml 0600 <<'KUBEADM' || true
apiVersion: kubeadm.k8s.io/v1beta4
bootstrapTokens:
- description: metalk8s init token, unused
  groups:
  - system:bootstrappers:kubeadm:default-node-token
  token: null
  ttl: 1m0s
  usages:
  - signing
  - authentication
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 198.51.100.1
  bindPort: 6443
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  kubeletExtraArgs:
  - name: node-ip
    value: 198.51.100.1
  - name: address
    value: 198.51.100.1
  name: sv-controller
  taints: null
---
apiServer:
  certSANs:
  - 198.51.100.1
  - 203.0.113.11
  extraArgs:
  - name: bind-address
    value: 0.0.0.0
apiVersion: kubeadm.k8s.io/v1beta4
controlPlaneEndpoint: 198.51.100.1:6443
controllerManager:
  extraArgs:
  - name: bind-address
    value: 127.0.0.1
dns: {}
etcd:
  local:
    dataDir: /var/lib/etcd
    extraArgs:
    - name: listen-client-urls
      value: https://127.0.0.1:2379,https://198.51.100.1:2379
    - name: advertise-client-urls
      value: https://198.51.100.1:2379
    - name: listen-peer-urls
      value: https://198.51.100.1:2380
    - name: initial-advertise-peer-urls
      value: https://198.51.100.1:2380
    - name: listen-metrics-urls
      value: http://127.0.0.1:2381
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
networking:
  dnsDomain: cluster.local
  podSubnet: 172.16.0.0/12
  serviceSubnet: 192.168.0.0/16
proxy: {}
scheduler:
  extraArgs:
  - name: bind-address
    value: 127.0.0.1
---
apiVersion: kubelet.config.k8s.io/v1beta1
cgroupDriver: systemd
clusterDNS:
- 192.168.0.10
clusterDomain: cluster.local
healthzBindAddress: 127.0.0.1
kind: KubeletConfiguration
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
clusterCIDR: 172.16.0.0/12
healthzBindAddress: 127.0.0.1:10256
kind: KubeProxyConfiguration
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses:
- primary
KUBEADM
  # Image pulls are the slow, flaky part: retry them before init so init itself runs once.
  retry 5 kubeadm config images pull --config "$root/etc/metalk8s/kubeadm-init.yaml" >&2
  kubeadm init --config "$root/etc/metalk8s/kubeadm-init.yaml" --skip-token-print >&2
  mkdir -p "$(dirname "$finished")"
  : >"$finished"
fi
wait_for 300 "the API server on sv-controller" api_ready
}
