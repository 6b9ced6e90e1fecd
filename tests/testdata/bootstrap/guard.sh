#!/usr/bin/env bash
# Checks, on sv-controller and before any other step changes anything, that the running cluster can
# take the configuration: every other step waits for this one, so a refusal here leaves every
# node as it was. A cluster not initialised yet passes. Read-only; rendered by metalk8s. Each
# check is one section below, naming the setting, what the cluster runs and what to do.
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

admin="$root/etc/kubernetes/admin.conf"
if [ ! -f "$root/etc/metalk8s/init.finished" ]; then
  log "no control plane on sv-controller yet: nothing to check"
  exit 0
fi

# apiServer.privateOnly / apiServer.allowedCidrs and kubernetes.apiPort: kubeadm writes the API
# server's bind address, port and certificate names at init and never moves them; the steps that
# follow would rewrite the firewall and the kubeconfig for an API server that is not there. The
# running values are the flags of kubeadm's static Pod manifest (one "- --flag=value" line each).
manifest="$root/etc/kubernetes/manifests/kube-apiserver.yaml"
if [ -f "$manifest" ]; then
  api_flag() {
    sed -n "/^ *- --$1=/{s/^ *- --$1=//p;q}" "$manifest"
  }
  running_bind=$(api_flag bind-address)
  running_port=$(api_flag secure-port)
  want_mode="apiServer.allowedCidrs (bound to every address, 0.0.0.0)"
  # kubeadm writes both flags (tests/realkube_test.go runs this on the manifest the real kubeadm
  # writes); a manifest without them says nothing about the access mode.
  if [ -n "$running_bind" ] && [ "$running_bind" != "0.0.0.0" ]; then
    log "the API server on sv-controller runs bound to $running_bind, and the configuration asks for $want_mode: kubeadm does not move a running control plane's address or certificate names; set apiServer back to the access mode the cluster was made with"
    exit 1
  fi
  if [ -n "$running_port" ] && [ "$running_port" != "6443" ]; then
    log "the API server on sv-controller serves on port $running_port, and kubernetes.apiPort is 6443: kubeadm does not move a running control plane; set kubernetes.apiPort back to ${running_port}"
    exit 1
  fi
fi

# kubernetes.version: kubeadm upgrades one minor release at a time and never downgrades. The
# version the cluster runs is the ClusterConfiguration kubeadm keeps in the kubeadm-config
# ConfigMap: written by kubeadm init, rewritten by kubeadm upgrade apply once the control plane
# runs the new version.
cluster_config() {
  kubectl --kubeconfig "$admin" -n kube-system get configmap kubeadm-config -o 'jsonpath={.data.ClusterConfiguration}'
}
wait_for 120 "the API server on sv-controller to answer" cluster_config
running=$(cluster_config | sed -n 's/^kubernetesVersion: //p')
if [[ ! $running =~ ^v1\.([0-9]+)\.([0-9]+)$ ]]; then
  log "cannot tell the version the cluster runs: kubeadm-config holds kubernetesVersion '${running}'"
  exit 1
fi
running_minor=${BASH_REMATCH[1]} running_patch=${BASH_REMATCH[2]}
want_minor=37 want_patch=2
if [ "$want_minor" -lt "$running_minor" ] || { [ "$want_minor" -eq "$running_minor" ] && [ "$want_patch" -lt "$running_patch" ]; }; then
  log "kubernetes.version 1.37.2 is older than the cluster, which runs $running: kubeadm does not downgrade; set kubernetes.version to ${running#v} or newer"
  exit 1
fi
if [ "$want_minor" -gt $((running_minor + 1)) ]; then
  log "kubernetes.version 1.37.2 skips a minor release: the cluster runs $running and kubeadm upgrades one minor at a time; upgrade to 1.$((running_minor + 1)).x first"
  exit 1
fi
log "kubernetes.version 1.37.2: the cluster runs $running, which can move to it"

# The control plane's address: kubeadm writes controlPlaneEndpoint into the ClusterConfiguration,
# the API server's certificate names and every kubeconfig at init, and does not move it. A cluster
# made without an API address cannot take one (nor lose it): the controllers that would join
# through it would find no certificate for it.
have=$(cluster_config | sed -n 's/^controlPlaneEndpoint: //p')
if [ -n "$have" ] && [ "$have" != "198.51.100.1:6443" ]; then
  log "the control plane's address is 198.51.100.1:6443, and the cluster was made with $have: kubeadm does not move a running control plane's address; an API address (and with it more than one controller) must be chosen when the cluster is created: set the API address settings back"
  exit 1
fi

# kubernetes.podCidr, serviceCidr (and with it dnsServiceIp) and dnsDomain: kubeadm writes them
# into the ClusterConfiguration at init (networking.podSubnet, serviceSubnet, dnsDomain) and every
# component keeps them; the steps that follow would write other values for a cluster that still
# runs these.
config=$(cluster_config)
for setting in "kubernetes.podCidr podSubnet 172.16.0.0/12" "kubernetes.serviceCidr serviceSubnet 192.168.0.0/16" "kubernetes.dnsDomain dnsDomain cluster.local"; do
  read -r key field want <<<"$setting"
  have=$(printf '%s
' "$config" | sed -n "s/^  $field: //p")
  if [ -n "$have" ] && [ "$have" != "$want" ]; then
    log "$key is $want, and the cluster runs with $field $have: kubeadm keeps the networks and the domain of its init; set $key back to $have"
    exit 1
  fi
done
}
