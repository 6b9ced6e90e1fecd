#!/usr/bin/env bash
# Makes sv-worker-0's own join token, eooxkl, so that it can join. Runs on the controller.
# The token is written as a Secret from standard input, never as a command-line argument, valid
# 60 minutes from now; the worker's registration step deletes it once the node is
# registered. Safe to run again: a registered node needs no token, and an existing one is left as
# it is (the controller manager's token cleaner deletes an expired one when it expires).
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

kubeconfig="$root/etc/kubernetes/admin.conf"
if kubectl --kubeconfig "$kubeconfig" get node "sv-worker-0" >/dev/null 2>&1; then
  log "sv-worker-0 is registered: it needs no join token"
  exit 0
fi
if kubectl --kubeconfig "$kubeconfig" -n kube-system get secret "bootstrap-token-eooxkl" >/dev/null 2>&1; then
  log "the join token of sv-worker-0 exists"
  exit 0
fi
expiration=$(date -u -d '+60 minutes' +%Y-%m-%dT%H:%M:%SZ)
kubectl --kubeconfig "$kubeconfig" create -f - >&2 <<TOKEN
apiVersion: v1
kind: Secret
metadata:
  name: bootstrap-token-eooxkl
  namespace: kube-system
type: bootstrap.kubernetes.io/token
stringData:
  description: metalk8s join token of sv-worker-0
  token-id: eooxkl
  token-secret: 2kuic8ebrb7vwops
  expiration: $expiration
  usage-bootstrap-authentication: "true"
  usage-bootstrap-signing: "true"
  auth-extra-groups: system:bootstrappers:kubeadm:default-node-token
TOKEN
log "the join token of sv-worker-0 is made, valid until $expiration"
}
