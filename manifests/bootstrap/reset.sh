#!/usr/bin/env bash
# Removes Kubernetes from this node: called by the delete action of the node's join step.
set -o errexit -o nounset -o pipefail
root="${METALK8S_ROOT:-}"
if [ ! -f "$root/etc/kubernetes/kubelet.conf" ] && [ ! -f "$root/etc/kubernetes/admin.conf" ]; then
  echo "metalk8s: nothing to reset" >&2
  exit 0
fi
kubeadm reset --force >&2
rm -rf "$root/etc/cni/net.d"
rm -f "$root/etc/metalk8s/init.finished" "$root/etc/metalk8s/join.finished"
echo "metalk8s: node reset" >&2
