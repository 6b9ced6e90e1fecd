# kubeadm config images pull, init, join and reset, with kubeadm's preflight checks on the files
# they leave: init writes the control plane's files (the API server then answers kubectl), join
# writes kubelet.conf (pointing at the configuration's API server endpoint), reset removes them.
k8s="$root/etc/kubernetes"
config() {
  if [ "$1" != --config ] || [ ! -s "$2" ]; then
    echo "unable to read config from \"${2:-}\"" >&2
    exit 1
  fi
}
available() {
  if [ -e "$k8s/$1" ]; then
    echo "[ERROR FileAvailable--etc-kubernetes-$1]: /etc/kubernetes/$1 already exists" >&2
    exit 1
  fi
}
case "${1:-} ${2:-} ${3:-}" in
"config images pull")
  [ $# -eq 5 ] || unsupported
  config "$4" "$5"
  : >"$state/images"
  ;;
"init --config "*)
  { [ $# -eq 4 ] && [ "$4" = --skip-token-print ]; } || unsupported
  config "$2" "$3"
  available manifests/kube-apiserver.yaml
  available kubelet.conf
  for f in ca.crt ca.key; do
    [ -s "$k8s/pki/$f" ] || { echo "missing $k8s/pki/$f" >&2 && exit 1; }
  done
  mkdir -p "$k8s/manifests"
  : >"$k8s/manifests/kube-apiserver.yaml"
  echo "kubelet" >"$k8s/kubelet.conf"
  chmod 0600 "$k8s/kubelet.conf"
  printf 'apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: %s\n    server: https://%s\n' \
    "$(base64 -w0 "$k8s/pki/ca.crt")" "$(sed -n 's/^controlPlaneEndpoint: //p' "$3")" >"$k8s/admin.conf"
  chmod 0600 "$k8s/admin.conf"
  echo "Your Kubernetes control-plane has initialized successfully!"
  ;;
"join --config "*)
  [ $# -eq 3 ] || unsupported
  config "$2" "$3"
  available kubelet.conf
  mkdir -p "$k8s"
  server=$(sed -n 's/^ *apiServerEndpoint: //p' "$3")
  printf 'clusters:\n- cluster:\n    server: https://%s\n' "$server" >"$k8s/kubelet.conf"
  chmod 0600 "$k8s/kubelet.conf"
  echo "This node has joined the cluster"
  ;;
"reset --force ")
  rm -rf "$k8s/manifests" "$k8s/pki" "$k8s"/*.conf
  ;;
*) unsupported ;;
esac
