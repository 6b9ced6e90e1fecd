# apt-get update records the repositories of $root/etc/apt/sources.list.d (refusing one whose
# signed-by keyring is missing); apt-get install PACKAGE[=VERSION]... installs from them. Like the
# real package, containerd.io installs its default /etc/containerd/config.toml (a conffile, kept
# when present) and enables and starts containerd.
if [ "${DEBIAN_FRONTEND:-}" != noninteractive ]; then
  echo "apt-get: DEBIAN_FRONTEND is not noninteractive: apt could prompt" >&2
  exit 100
fi
# A lock held by another apt or dpkg ($state/dpkg-lock: "HOLDER SECONDS", SECONDS until it is
# released) fails the call at once, as apt does, unless -o DPkg::Lock::Timeout gives it as long.
command='' allow_held=0 packages=() lock_timeout=0 option=0
for arg in "$@"; do
  if [ "$option" = 1 ]; then
    option=0
    case $arg in
    DPkg::Lock::Timeout=[0-9]*) lock_timeout=${arg#*=} ;;
    *) unsupported ;;
    esac
    continue
  fi
  case $arg in
  -o) option=1 ;;
  --allow-change-held-packages) allow_held=1 ;;
  -y | -q | --allow-downgrades) ;;
  -*) unsupported ;;
  *)
    if [ -z "$command" ]; then command=$arg; else packages+=("$arg"); fi
    ;;
  esac
done
mkdir -p "$state/dpkg"
if [ -f "$state/dpkg-lock" ]; then
  read -r holder seconds <"$state/dpkg-lock"
  if [ "$lock_timeout" -lt "$seconds" ]; then
    echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1042 ($holder)" >&2
    exit 100
  fi
  rm -f "$state/dpkg-lock" # released while this call waited
fi
case $command in
update)
  [ ${#packages[@]} -eq 0 ] || unsupported
  sources=$(cat "$root"/etc/apt/sources.list.d/*.list 2>/dev/null || true)
  while read -r line; do
    if [[ $line =~ signed-by=([^] ]+) ]] && [ ! -s "$root${BASH_REMATCH[1]}" ]; then
      echo "E: The repository '$line' is not signed (no ${BASH_REMATCH[1]})." >&2
      exit 100
    fi
  done <<<"$sources"
  printf '%s\n' "$sources" >"$state/apt-lists"
  ;;
install)
  [ ${#packages[@]} -gt 0 ] || unsupported
  for p in "${packages[@]}"; do
    name=${p%%=*} version=${p#*=}
    case $name in
    containerd.io)
      [ "$p" != "$name" ] || version=2.1.4-1~ubuntu.24.04~noble
      repository='download.docker.com/linux/ubuntu noble stable'
      ;;
    kubelet | kubeadm | kubectl)
      [ "$p" != "$name" ] || unsupported
      release=${version%%-*}
      repository="pkgs.k8s.io/core:/stable:/v${release%.*}/deb/ /"
      ;;
    *) unsupported ;;
    esac
    if ! grep -qF "$repository" "$state/apt-lists" 2>/dev/null; then
      echo "E: Version '$version' for '$name' was not found" >&2
      exit 100
    fi
    if [ -f "$state/hold/$name" ] && [ "$allow_held" = 0 ] && [ "$(installed "$name")" != "$version" ]; then
      echo "E: Held packages were changed and -y was used without --allow-change-held-packages." >&2
      exit 100
    fi
  done
  for p in "${packages[@]}"; do
    name=${p%%=*} version=${p#*=}
    [ "$p" != "$name" ] || version=2.1.4-1~ubuntu.24.04~noble
    printf '%s' "$version" >"$state/dpkg/$name"
    echo "Setting up $name ($version) ..."
    if [ "$name" = containerd.io ]; then
      if [ ! -e "$root/etc/containerd/config.toml" ]; then
        mkdir -p "$root/etc/containerd"
        printf 'disabled_plugins = ["cri"]\n' >"$root/etc/containerd/config.toml"
      fi
      mkdir -p "$state/enabled" "$state/running"
      : >"$state/enabled/containerd"
      cp "$root/etc/containerd/config.toml" "$state/running/containerd"
    fi
  done
  ;;
*) unsupported ;;
esac
