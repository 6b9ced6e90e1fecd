#!/usr/bin/env bash
# Runs on the controller before the tigera-operator chart installs or upgrades Calico 3.31.7.
# The operator mounts the bird-templates ConfigMap (metalk8s's edited bird.cfg.template) over
# calico-node's own templates. A template of one generation does not render under the other's
# confd: up to 3.31 the template calls getenv, which 3.32's confd does not define; from 3.32 it
# calls getBGPConfig, which 3.31's does not. metalk8s reads and republishes the template only once
# calico-node has rolled out, which it never does with a template it cannot render: the upgrade
# would stall on its first node. So while a template is published, a change of generation is
# refused here, before anything changes.
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

kubeconfig="$root/etc/kubernetes/admin.conf"
template=$(retry 3 kubectl --kubeconfig "$kubeconfig" -n tigera-operator get configmap bird-templates \
  --ignore-not-found -o 'jsonpath={.data.bird\.cfg\.template}')
if [ -z "$template" ]; then
  log "no edited BIRD template is published: nothing to check"
  exit 0
fi
case "$template" in
  *getBGPConfig*) published=3.32 ;;
  *getenv*) published=3.31 ;;
  *) published=unknown ;;
esac
describe() {
  case "$1" in
    3.31) echo "Calico 3.31 and older" ;;
    3.32) echo "Calico 3.32 and later" ;;
    *) echo "no Calico generation metalk8s knows" ;;
  esac
}
if [ "$published" = "3.31" ]; then
  log "the published BIRD template is of the $(describe "$published") generation, which Calico 3.31.7 renders"
  exit 0
fi
log "refusing to install Calico 3.31.7: the bird-templates ConfigMap in tigera-operator holds a BIRD template of $(describe "$published"), which calico-node 3.31.7 ($(describe 3.31)) cannot render"
log "to move between Calico 3.31 and 3.32: run an update with loadBalancer.mode calico and the Calico version now running (it removes the template), then change calico.version, then set the mode back"
exit 1
}
