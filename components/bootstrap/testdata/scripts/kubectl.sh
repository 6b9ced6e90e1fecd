# kubectl --kubeconfig FILE [-n NAMESPACE] VERB ... answers from $state: the API server is up when
# its static pod manifest exists; Secrets are $state/secrets/NAMESPACE/NAME (written by apply from
# standard input), Nodes $state/nodes/NAME, drained Nodes $state/drained/NAME.
kubeconfig='' namespace=default args=()
while [ $# -gt 0 ]; do
  case $1 in
  --kubeconfig) kubeconfig=$2 && shift ;;
  -n) namespace=$2 && shift ;;
  *) args+=("$1") ;;
  esac
  shift
done
if [ ! -f "$kubeconfig" ]; then
  echo "error: stat $kubeconfig: no such file or directory" >&2
  exit 1
fi
if [ ! -f "$root/etc/kubernetes/manifests/kube-apiserver.yaml" ]; then
  echo "The connection to the server was refused - did you specify the right host or port?" >&2
  exit 1
fi
set -- "${args[@]}"
notfound() {
  echo "Error from server (NotFound): $1 \"$2\" not found" >&2
  exit 1
}
case "${1:-} ${2:-}" in
"get --raw")
  { [ $# -eq 3 ] && [ "$3" = /readyz ]; } || unsupported
  echo ok
  ;;
"get secret")
  [ $# -eq 3 ] || unsupported
  [ -f "$state/secrets/$namespace/$3" ] || notfound secrets "$3"
  echo "$3"
  ;;
"apply -f")
  { [ $# -eq 3 ] && [ "$3" = - ]; } || unsupported
  doc=$(cat)
  name=$(sed -n 's/^  name: //p' <<<"$doc")
  namespace=$(sed -n 's/^  namespace: //p' <<<"$doc")
  { [ -n "$name" ] && [ -n "$namespace" ]; } || { echo "error: no name or namespace" >&2 && exit 1; }
  mkdir -p "$state/secrets/$namespace"
  printf '%s\n' "$doc" >"$state/secrets/$namespace/$name"
  echo "secret/$name created"
  ;;
"get node")
  [ $# -eq 3 ] || unsupported
  [ -f "$state/nodes/$3" ] || notfound nodes "$3"
  echo "$3 Ready"
  ;;
"drain "*)
  [ -f "$state/nodes/$2" ] || notfound nodes "$2"
  mkdir -p "$state/drained"
  : >"$state/drained/$2"
  echo "node/$2 drained"
  ;;
"delete node")
  { [ $# -eq 4 ] && [ "$4" = --ignore-not-found ]; } || unsupported
  rm -f "$state/nodes/$3"
  ;;
*) unsupported ;;
esac
