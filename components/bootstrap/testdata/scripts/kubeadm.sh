# kubeadm config images pull|list, init, join, upgrade plan|apply|node, certs check-expiration, certs
# renew all and reset, with kubeadm's preflight checks on the
# files they leave: init writes the control plane's files (the API server then answers kubectl),
# join writes kubelet.conf (pointing at the configuration's API server endpoint) and keeps the
# configuration it joined with in $state/joined-with, reset removes them.
#
# --config FILE is loaded the way kubeadm v1.37.2 loads it (cmd/kubeadm/app/util/config and
# util/marshal.go): the file is split into YAML documents on "---" lines; every document needs an
# apiVersion GROUP/VERSION and a kind, and a kind may appear once; kubeadm.k8s.io documents must
# be v1beta4 (validateSupportedVersion refuses the older ones and the experimental v1). Then
# "config images pull|list" and "init" use the init-configuration loader, which refuses a file
# without an InitConfiguration or ClusterConfiguration kind, and "join" the join-configuration
# loader, which refuses a file without a JoinConfiguration.
k8s="$root/etc/kubernetes"
# documents FILE prints "APIVERSION KIND" for each YAML document of FILE.
documents() {
  local api='' kind='' line
  emit() {
    if [ -n "$api$kind" ]; then printf '%s %s\n' "${api:--}" "${kind:--}"; fi
    api='' kind=''
  }
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
    ---*) emit ;;
    apiVersion:\ *) api=${line#apiVersion: } ;;
    kind:\ *) kind=${line#kind: } ;;
    esac
  done <"$1"
  emit
}
# load LOADER --config FILE fails as kubeadm's LOADER (init or join) fails on FILE.
load() {
  local loader=$1 api kind kinds=' '
  if [ "$2" != --config ] || [ ! -r "$3" ]; then
    echo "unable to read config from \"${3:-}\"" >&2
    exit 1
  fi
  while read -r api kind; do
    if [ "$api" = - ] || [ "$kind" = - ] || [[ $api != */* ]]; then
      echo "invalid configuration for GroupVersionKind: kind and apiVersion is mandatory information that must be specified" >&2
      exit 1
    fi
    if [[ $kinds == *" $kind "* ]]; then
      echo "invalid configuration: kind \"$kind\" is specified twice in YAML file" >&2
      exit 1
    fi
    kinds+="$kind "
    if [[ $api == kubeadm.k8s.io/* ]] && [ "$api" != kubeadm.k8s.io/v1beta4 ]; then
      echo "your configuration file uses an old API spec: \"$api\" (kind: \"$kind\")" >&2
      exit 1
    fi
  done < <(documents "$3")
  case $loader in
  init)
    if [[ $kinds != *" InitConfiguration "* ]] && [[ $kinds != *" ClusterConfiguration "* ]]; then
      echo "no InitConfiguration or ClusterConfiguration kind was found in the configuration file" >&2
      exit 1
    fi
    ;;
  join)
    if [[ $kinds != *" JoinConfiguration "* ]]; then
      echo "no JoinConfiguration found in the supplied config" >&2
      exit 1
    fi
    ;;
  esac
}
# The leaf certificates kubeadm v1.37.2 renews (renewal.NewManager: the PKI's leaf certificates and
# the kubeconfigs admin.conf, super-admin.conf, controller-manager.conf and scheduler.conf; not
# kubelet.conf, not the CAs), all expiring at the date in $state/certs-expire (init and renew set it
# a year ahead, at day granularity). renew all also gives admin.conf a new client certificate: its
# client-certificate-data is "renewed N", base64.
certs="admin.conf apiserver apiserver-etcd-client apiserver-kubelet-client controller-manager.conf etcd-healthcheck-client etcd-peer etcd-server front-proxy-client scheduler.conf super-admin.conf"
year_ahead() {
  date -u -d '+365 days' +%Y-%m-%dT00:00:00Z >"$state/certs-expire"
}
# admin_user N prints admin.conf's user, with client certificate number N.
admin_user() {
  printf 'users:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: %s\n' "$(printf 'renewed %s' "$1" | base64 -w0)"
}
available() {
  if [ -e "$k8s/$1" ]; then
    echo "[ERROR FileAvailable--etc-kubernetes-$1]: /etc/kubernetes/$1 already exists" >&2
    exit 1
  fi
}
# cluster_up fails as kubeadm does when the API server does not answer; cluster_version prints
# the kubernetesVersion of the kubeadm-config ConfigMap ($state/kubeadm-config).
cluster_up() {
  if [ ! -f "$k8s/admin.conf" ] || [ ! -f "$k8s/manifests/kube-apiserver.yaml" ] || [ ! -f "$state/kubeadm-config" ]; then
    echo "couldn't create a Kubernetes client from file \"/etc/kubernetes/admin.conf\"" >&2
    exit 1
  fi
}
cluster_version() {
  sed -n 's/^kubernetesVersion: //p' "$state/kubeadm-config"
}
case "${1:-} ${2:-} ${3:-}" in
"config images pull" | "config images list")
  [ $# -eq 5 ] || unsupported
  load init "$4" "$5"
  if [ "$3" = pull ]; then
    : >"$state/images"
  else
    # The images of kubeadm v1.37.2 (constants.go: PauseVersion, CoreDNSVersion, DefaultEtcdVersion).
    version=$(sed -n 's/^kubernetesVersion: //p' "$5")
    for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
      echo "registry.k8s.io/$c:${version:-v1.37.2}"
    done
    printf '%s\n' registry.k8s.io/coredns/coredns:v1.14.6 registry.k8s.io/pause:3.10.2 registry.k8s.io/etcd:3.7.0-0
  fi
  ;;
"init --config "*)
  { [ $# -eq 4 ] && [ "$4" = --skip-token-print ]; } || unsupported
  load init "$2" "$3"
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
  admin_user 0 >>"$k8s/admin.conf"
  chmod 0600 "$k8s/admin.conf"
  printf 'kubernetesVersion: %s\n' "$(sed -n 's/^kubernetesVersion: //p' "$3")" >"$state/kubeadm-config"
  year_ahead
  echo "Your Kubernetes control-plane has initialized successfully!"
  ;;
"join --config "*)
  [ $# -eq 3 ] || unsupported
  load join "$2" "$3"
  available kubelet.conf
  mkdir -p "$k8s"
  server=$(sed -n 's/^ *apiServerEndpoint: //p' "$3")
  # The configuration joined with, for the tests: the script removes its file afterwards.
  cp "$3" "$state/joined-with"
  printf 'clusters:\n- cluster:\n    server: https://%s\n' "$server" >"$k8s/kubelet.conf"
  chmod 0600 "$k8s/kubelet.conf"
  echo "This node has joined the cluster"
  ;;
"upgrade plan "*)
  # kubeadm upgrade plan [version] (cmd/upgrade/plan.go at v1.37.2: at most one argument) reads
  # the cluster through /etc/kubernetes/admin.conf and changes nothing.
  [ $# -le 3 ] || unsupported
  cluster_up
  echo "[upgrade/versions] Cluster version: $(cluster_version)"
  echo "[upgrade/versions] Target version: ${3:-$(cluster_version)}"
  ;;
"upgrade apply "*)
  # kubeadm upgrade apply VERSION --yes, as cmd/upgrade/apply.go and common.go at v1.37.2 have it:
  # the version argument is mandatory; without --yes (or -y, -f, --dry-run) it asks on standard
  # input and fails on its end. It upgrades the static pods and writes the new kubernetesVersion
  # into the kubeadm-config ConfigMap. The versions it refuses, and its messages, are those of the
  # real kubeadm v1.37.2 run on a v1.37.2 control plane (tests/upgrade_realkube_test.go runs both
  # and compares): first a version below the oldest control plane it deploys, one minor below its
  # own (NormalizeKubernetesVersion in util/config/common.go); then, in the order of
  # EnforceVersionPolicies (phases/upgrade/policy.go), the fatal errors (more than one minor above
  # or below the cluster's, a minor above kubeadm's own) and, when there is none, the errors only
  # --force skips (a patch above kubeadm's own, a minor below it), which metalk8s does not pass.
  # The cluster's version is the API server's; here kubeadm-config's, which apply keeps equal.
  target=${3:-}
  { [ $# -eq 4 ] && [ "$4" = --yes ]; } || {
    if [ $# -eq 3 ] && [[ $target == v* ]]; then
      echo "[upgrade] Are you sure you want to proceed? [y/N]: error: won't proceed; the user didn't answer (Y|y) in order to continue" >&2
      exit 1
    fi
    unsupported
  }
  [[ $target =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || { echo "couldn't parse Kubernetes version \"$target\"" >&2 && exit 1; }
  target_minor=${BASH_REMATCH[1]}
  cluster_up
  current=$(cluster_version)
  [[ $current =~ ^v1\.([0-9]+)\. ]] || unsupported
  current_minor=${BASH_REMATCH[1]}
  own=v$(installed kubeadm | sed 's/-.*//')
  [[ $own =~ ^v1\.([0-9]+)\. ]] || unsupported
  own_minor=${BASH_REMATCH[1]}
  if [ "$target_minor" -lt $((own_minor - 1)) ]; then
    echo "error: error execution phase preflight: this version of kubeadm only supports deploying clusters with the control plane version >= 1.$((own_minor - 1)).0. Current version: $target" >&2
    exit 1
  fi
  fatal=() skippable=()
  if [ "$target_minor" -gt $((current_minor + 1)) ]; then
    fatal+=("Specified version to upgrade to \"$target\" is too high; kubeadm can upgrade only 1 minor version at a time")
  fi
  if [ "$target_minor" -lt $((current_minor - 1)) ]; then
    fatal+=("Specified version to downgrade to \"$target\" is too low; kubeadm can downgrade only 1 minor version at a time")
  fi
  if older "${own#v}" "${target#v}"; then
    if [ "$target_minor" -gt "$own_minor" ]; then
      fatal+=("Specified version to upgrade to \"$target\" is at least one minor release higher than the kubeadm minor release ($target_minor > $own_minor). Such an upgrade is not supported")
    else
      skippable+=("Specified version to upgrade to \"$target\" is higher than the kubeadm version \"$own\". Upgrade kubeadm first using the tool you used to install kubeadm")
    fi
  fi
  if [ "$own_minor" -gt "$target_minor" ]; then
    skippable+=("Kubeadm version $own can only be used to upgrade to Kubernetes version 1.$own_minor")
  fi
  if [ ${#fatal[@]} -gt 0 ]; then
    printf 'error: error execution phase preflight: the version argument is invalid due to these fatal errors:\n\n' >&2
    printf '\t- %s\n' "${fatal[@]}" >&2
    printf '\nPlease fix the misalignments highlighted above and try upgrading again\n' >&2
    exit 1
  fi
  if [ ${#skippable[@]} -gt 0 ]; then
    printf 'error: error execution phase preflight: the version argument is invalid due to these errors:\n\n' >&2
    printf '\t- %s\n' "${skippable[@]}" >&2
    printf '\nCan be bypassed if you pass the --force flag\n' >&2
    exit 1
  fi
  sed -i "s/^kubernetesVersion: .*/kubernetesVersion: $target/" "$state/kubeadm-config"
  echo "$target" >"$k8s/manifests/kube-apiserver.yaml"
  # UpgradeConfiguration's apply.certificateRenewal defaults to true (apis/kubeadm/v1beta4/defaults.go
  # at v1.37.2): the control plane's certificates are renewed with the upgrade.
  year_ahead
  echo "[upgrade] SUCCESS! A control plane node of your cluster was upgraded to \"$target\"."
  ;;
"upgrade node ")
  # kubeadm upgrade node takes no arguments (cobra.NoArgs in cmd/upgrade/node.go at v1.37.2); on a
  # worker it reaches the cluster with /etc/kubernetes/kubelet.conf and writes the kubelet
  # configuration of the cluster's version.
  [ $# -eq 2 ] || unsupported
  if [ ! -f "$k8s/kubelet.conf" ]; then
    echo "couldn't create a Kubernetes client from file \"/etc/kubernetes/kubelet.conf\"" >&2
    exit 1
  fi
  mkdir -p "$root/var/lib/kubelet"
  echo "kubelet configuration of $(installed kubeadm)" >"$root/var/lib/kubelet/config.yaml"
  echo "[upgrade] The configuration for this node was successfully upgraded!"
  ;;
"certs check-expiration --config")
  # The script's one form: --config FILE -o jsonpath=... printing "NAME EXPIRATION MISSING" lines.
  { [ $# -eq 6 ] && [ "$5" = -o ] && [ "$6" = 'jsonpath={range .certificates[*]}{.name} {.expirationDate} {.missing}{"\n"}{end}' ]; } || unsupported
  load init "$3" "$4"
  for c in $certs; do
    if [ -f "$state/certs-expire" ]; then
      printf '%s %s false\n' "$c" "$(cat "$state/certs-expire")"
    else
      printf '%s  true\n' "$c"
    fi
  done
  ;;
"certs renew all")
  { [ $# -eq 5 ] && [ "$4" = --config ]; } || unsupported
  load init "$4" "$5"
  for f in ca.crt ca.key; do
    [ -s "$k8s/pki/$f" ] || { echo "failure loading certificate authority: missing $k8s/pki/$f" >&2 && exit 1; }
  done
  n=$(($(cat "$state/renewals" 2>/dev/null || echo 0) + 1))
  echo "$n" >"$state/renewals"
  if [ -f "$k8s/admin.conf" ]; then
    sed -i '/^users:/,$d' "$k8s/admin.conf"
    admin_user "$n" >>"$k8s/admin.conf"
  fi
  year_ahead
  for c in $certs; do echo "certificate $c renewed"; done
  echo "Done renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates."
  ;;
"reset --force ")
  rm -rf "$k8s/manifests" "$k8s/pki" "$k8s"/*.conf
  ;;
*) unsupported ;;
esac
