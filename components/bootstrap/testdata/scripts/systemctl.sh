# systemctl models units: containerd and kubelet exist once their package is installed, others when
# their unit file is in $root/etc/systemd/system. enable records $state/enabled/UNIT; starting
# containerd records the configuration it runs with in $state/running/containerd; daemon-reload
# records the unit files systemd has loaded in $state/loaded.
exists() {
  case $1 in
  containerd) installed containerd.io >/dev/null ;;
  kubelet) installed kubelet >/dev/null ;;
  *.timer | *.service) [ -f "$root/etc/systemd/system/$1" ] ;;
  *) [ -f "$root/etc/systemd/system/$1.service" ] ;;
  esac || {
    echo "Failed to enable unit: Unit file $1.service does not exist." >&2
    exit 1
  }
}
start() {
  mkdir -p "$state/running"
  if [ "$1" = containerd ]; then
    cat "$root/etc/containerd/config.toml" 2>/dev/null >"$state/running/containerd" ||
      echo "(package defaults)" >"$state/running/containerd"
  else
    : >"$state/running/$1"
  fi
  # A kubelet (re)started reports the version of its package on the node's object: this machine
  # is the node named in $state/hostname.
  if [ "$1" = kubelet ] && [ -f "$state/hostname" ]; then
    mkdir -p "$state/kubelet-version"
    printf 'v%s' "$(installed kubelet | sed 's/-.*//')" >"$state/kubelet-version/$(cat "$state/hostname")"
  fi
}
mkdir -p "$state/enabled"
case "$*" in
"is-enabled --quiet "*)
  [ $# -eq 3 ] || unsupported
  [ -f "$state/enabled/$3" ]
  ;;
"enable --now "* | "enable "*)
  now=0
  [ "$2" != --now ] || { now=1 && shift; }
  shift
  for unit in "$@"; do
    exists "$unit"
    : >"$state/enabled/$unit"
    if [ "$now" = 1 ] && [ ! -f "$state/running/$unit" ]; then start "$unit"; fi
  done
  ;;
"restart "*)
  [ $# -eq 2 ] || unsupported
  exists "$2"
  start "$2"
  ;;
daemon-reload)
  rm -rf "$state/loaded"
  mkdir -p "$state/loaded"
  if [ -d "$root/etc/systemd/system" ]; then
    cp -R "$root/etc/systemd/system/." "$state/loaded/"
  fi
  ;;
*) unsupported ;;
esac
