# kubectl --kubeconfig FILE [-n NAMESPACE] VERB ... answers from $state: the API server is up when
# its static pod manifest exists; Secrets are $state/secrets/NAMESPACE/NAME (written by create from
# standard input, removed by delete), Nodes $state/nodes/NAME, drained (cordoned) Nodes $state/drained/NAME, the
# kubeadm-config ConfigMap $state/kubeadm-config.
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
"get secrets")
  # The bootstrap token Secrets of the namespace, each as its name and its description as the
  # Secret's data holds it, base64 (the stand-in's Secrets are the documents created, with
  # stringData); a Secret without one prints an empty description, as jsonpath does.
  { [ $# -eq 6 ] && [ "$3" = --field-selector ] && [ "$4" = type=bootstrap.kubernetes.io/token ] && [ "$5" = -o ] &&
    [ "$6" = 'jsonpath={range .items[*]}{.metadata.name}{" "}{.data.description}{"\n"}{end}' ]; } || unsupported
  for f in "$state/secrets/$namespace"/*; do
    [ -f "$f" ] || continue
    grep -q '^type: bootstrap.kubernetes.io/token$' "$f" || continue
    description=$(sed -n 's/^  description: //p' "$f")
    printf '%s %s\n' "${f##*/}" "$(printf '%s' "$description" | base64 -w0)"
  done
  ;;
"delete secret")
  { [ $# -eq 4 ] && [ "$4" = --ignore-not-found ]; } || unsupported
  if [ -f "$state/secrets/$namespace/$3" ]; then
    rm -f "$state/secrets/$namespace/$3"
    echo "secret \"$3\" deleted"
  fi
  ;;
"create -f")
  # As the API server does, a second create of the same object is refused: AlreadyExists, exit 1.
  # The file is written with noclobber, so parallel creates race as they do on the server.
  { [ $# -eq 3 ] && [ "$3" = - ]; } || unsupported
  doc=$(cat)
  name=$(sed -n 's/^  name: //p' <<<"$doc")
  namespace=$(sed -n 's/^  namespace: //p' <<<"$doc")
  { [ -n "$name" ] && [ -n "$namespace" ]; } || { echo "error: no name or namespace" >&2 && exit 1; }
  mkdir -p "$state/secrets/$namespace"
  if ! (set -o noclobber && printf '%s\n' "$doc" >"$state/secrets/$namespace/$name") 2>/dev/null; then
    echo "Error from server (AlreadyExists): error when creating \"STDIN\": secrets \"$name\" already exists" >&2
    exit 1
  fi
  echo "secret/$name created"
  ;;
"get node")
  [ -f "$state/nodes/$3" ] || notfound nodes "$3"
  if [ $# -eq 3 ]; then
    echo "$3 Ready"
    exit 0
  fi
  { [ $# -eq 5 ] && [ "$4" = -o ]; } || unsupported
  # The fields the upgrade scripts read: the version the node's running kubelet reports
  # ($state/kubelet-version/NAME, written when the kubelet restarts), Ready unless
  # $state/notready/NAME exists, cordoned while $state/drained/NAME exists, annotations.
  ready=True
  [ ! -f "$state/notready/$3" ] || ready=False
  reported=$(cat "$state/kubelet-version/$3" 2>/dev/null || true)
  case $5 in
  'jsonpath={.status.nodeInfo.kubeletVersion}') printf '%s' "$reported" ;;
  'jsonpath={.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status}') printf '%s %s' "$reported" "$ready" ;;
  'jsonpath={.spec.unschedulable}') [ ! -f "$state/drained/$3" ] || printf true ;;
  'jsonpath={.metadata.annotations.metalk8s\.io/upgrading}') cat "$state/annotations/$3/metalk8s.io/upgrading" 2>/dev/null || true ;;
  'jsonpath={.metadata.annotations.metalk8s\.io/drained}') cat "$state/annotations/$3/metalk8s.io/drained" 2>/dev/null || true ;;
  *) unsupported ;;
  esac
  ;;
"get configmap")
  # The kubeadm-config ConfigMap's ClusterConfiguration, written by kubeadm init and upgrade apply.
  { [ $# -eq 5 ] && [ "$3" = kubeadm-config ] && [ "$4" = -o ] && [ "$5" = 'jsonpath={.data.ClusterConfiguration}' ]; } || unsupported
  [ "$namespace" = kube-system ] || unsupported
  [ -f "$state/kubeadm-config" ] || notfound configmaps kubeadm-config
  cat "$state/kubeadm-config"
  ;;
"annotate node")
  # annotate node NAME --overwrite KEY=VALUE | annotate node NAME KEY-
  [ -f "$state/nodes/$3" ] || notfound nodes "$3"
  case "$#:${4:-}:${5:-}" in
  5:--overwrite:*=*)
    mkdir -p "$(dirname "$state/annotations/$3/${5%%=*}")"
    printf '%s' "${5#*=}" >"$state/annotations/$3/${5%%=*}"
    ;;
  4:*-:) rm -f "$state/annotations/$3/${4%-}" ;;
  *) unsupported ;;
  esac
  echo "node/$3 annotated"
  ;;
"uncordon "*)
  [ $# -eq 2 ] || unsupported
  [ -f "$state/nodes/$2" ] || notfound nodes "$2"
  rm -f "$state/drained/$2"
  echo "node/$2 uncordoned"
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
