#!/usr/bin/env bash
# metalk8s-remove-node NODE: drains NODE and deletes it from the cluster. Runs on the controller,
# called by the delete action of a worker's registration step; succeeds when NODE is already gone.
set -o errexit -o nounset -o pipefail
root="${METALK8S_ROOT:-}"
node=${1:?usage: metalk8s-remove-node NODE}
kubeconfig="$root/etc/kubernetes/admin.conf"
if ! kubectl --kubeconfig "$kubeconfig" get node "$node" >/dev/null 2>&1; then
  echo "metalk8s: node $node is not in the cluster" >&2
  exit 0
fi
kubectl --kubeconfig "$kubeconfig" drain "$node" --ignore-daemonsets --delete-emptydir-data \
  --force --grace-period=60 --timeout=300s >&2
kubectl --kubeconfig "$kubeconfig" delete node "$node" --ignore-not-found >&2
echo "metalk8s: node $node removed" >&2
