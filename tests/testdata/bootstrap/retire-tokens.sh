#!/usr/bin/env bash
# Deletes the bootstrap tokens on sv-controller that no worker joins with: the one made when the
# control plane was initialised (valid a minute) and the join token every worker used to share.
# Workers join with tokens of their own, which this leaves alone. Runs on the controller; safe to
# run again.
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
# Each token Secret's name and description, as the Secret holds it (base64).
tokens=$(kubectl --kubeconfig "$kubeconfig" -n kube-system get secrets \
  --field-selector type=bootstrap.kubernetes.io/token \
  -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.data.description}{"\n"}{end}')
while read -r name description; do
  case $description in
  bWV0YWxrOHMgaW5pdCB0b2tlbiwgdW51c2Vk | bWV0YWxrOHMgam9pbiB0b2tlbg==)
    kubectl --kubeconfig "$kubeconfig" -n kube-system delete secret "$name" --ignore-not-found </dev/null >&2
    log "deleted the unused bootstrap token $name"
    ;;
  esac
done <<<"$tokens"
}
