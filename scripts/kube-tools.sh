#!/usr/bin/env bash
# Builds the real Kubernetes tools the tests run (kubeadm, kube-apiserver, kube-controller-manager,
# kubectl at v1.37.2, etcd v3.7.0, and kubeadm's join discovery as a small command) from the
# nested module tools/kube, once: the binaries are cached under
#   ${METALK8S_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metalk8s/kube-tools}/<key>/
# where <key> is a hash of that module and the Go version, so a change to either rebuilds them.
# Prints the directory holding the binaries.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/tools/kube"
version=v1.37.2

key=$(cat "$src/go.mod" "$src/go.sum" "$src"/cmd/*/*.go "$src/tools.go" "$0" | sha256sum | cut -c1-16)
key="$key-$(go env GOVERSION)"
cache="${METALK8S_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metalk8s/kube-tools}"
out="$cache/$key"
tools=(kubeadm kube-apiserver kube-controller-manager kubectl etcd discover)

complete=true
for t in "${tools[@]}"; do [ -x "$out/$t" ] || complete=false; done
if ! $complete; then
  mkdir -p "$out.partial"
  ldflags="-s -w"
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $v.gitVersion=$version -X $v.gitMajor=1 -X $v.gitMinor=37 -X $v.gitTreeState=clean"
  done
  cd "$src"
  for t in "${tools[@]}"; do
    [ -x "$out.partial/$t" ] && continue
    case $t in
      etcd|discover) pkg=./cmd/$t ;;
      *) pkg=k8s.io/kubernetes/cmd/$t ;;
    esac
    echo "building $t ($pkg)" >&2
    start=$SECONDS
    go build -trimpath -ldflags "$ldflags" -o "$out.partial/$t.tmp" "$pkg"
    mv "$out.partial/$t.tmp" "$out.partial/$t"
    echo "built $t in $((SECONDS - start)) s" >&2
  done
  rm -rf "$out"
  mv "$out.partial" "$out"
fi
echo "$out"
