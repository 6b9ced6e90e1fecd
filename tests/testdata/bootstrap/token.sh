#!/usr/bin/env bash
# Makes sure the bootstrap token ip9lk0 exists so that sv-worker-0 can join. Runs on the
# controller. The token is written as a Secret from standard input, never as a command-line
# argument. Safe to run again: an existing token is left as it is.
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
if kubectl --kubeconfig "$kubeconfig" -n kube-system get secret "bootstrap-token-ip9lk0" >/dev/null 2>&1; then
  log "bootstrap token ip9lk0 exists"
  exit 0
fi
expiration=$(date -u -d '+60 minutes' +%Y-%m-%dT%H:%M:%SZ)
# create, not apply: token steps of workers added together run at once, and each may find no
# Secret above. The first create wins; the others are refused with AlreadyExists, which is success
# once the Secret is there.
if ! out=$(kubectl --kubeconfig "$kubeconfig" create -f - 2>&1 <<TOKEN
apiVersion: v1
kind: Secret
metadata:
  name: bootstrap-token-ip9lk0
  namespace: kube-system
type: bootstrap.kubernetes.io/token
stringData:
  description: metalk8s join token
  token-id: ip9lk0
  token-secret: ci1gh4ceqr2hbt9b
  expiration: $expiration
  usage-bootstrap-authentication: "true"
  usage-bootstrap-signing: "true"
  auth-extra-groups: system:bootstrappers:kubeadm:default-node-token
TOKEN
); then
  if [[ $out == *AlreadyExists* ]] && kubectl --kubeconfig "$kubeconfig" -n kube-system get secret "bootstrap-token-ip9lk0" >/dev/null 2>&1; then
    log "bootstrap token ip9lk0 was created by another step"
    exit 0
  fi
  printf '%s\n' "$out" >&2
  exit 1
fi
printf '%s\n' "$out" >&2
log "bootstrap token ip9lk0 created, valid for 60 minutes"
}
