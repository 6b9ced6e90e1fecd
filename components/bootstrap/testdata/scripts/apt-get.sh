# apt-get update records the repositories of $root/etc/apt/sources.list.d (refusing one whose
# signed-by keyring is missing); apt-get install PACKAGE[=VERSION]... installs from them, the
# version apt would choose when none is given (candidate in prelude.sh: the pins of
# /etc/apt/preferences.d count). Like the real package, containerd.io installs its default
# /etc/containerd/config.toml (a conffile) and enables and starts containerd.
#
# Refused as apt 3.1 and dpkg refuse them: a version no repository offers; changing a held package
# without --allow-change-held-packages; a downgrade with -y but without --allow-downgrades (run
# with apt 2.6.1: "E: Packages were downgraded and -y was used without --allow-downgrades.").
#
# Locks, as apt does them (apt-pkg/acquire.cc, apt-pkg/deb/debsystem.cc at apt 3.1.12): install
# takes dpkg's lock ($state/dpkg-lock: "HOLDER SECONDS", SECONDS until it is released), failing at
# once unless -o DPkg::Lock::Timeout gives it as long; update takes the package lists' lock
# ($state/lists-lock: "HOLDER SECOND", held until the script has slept SECOND seconds in all),
# which it never waits for: DPkg::Lock::Timeout does not apply to it (run with apt 2.6.1: exit 100
# at once, "Unable to lock directory").
#
# Conffiles, as dpkg 1.21.22 does them (run here): installing another version of containerd.io over a
# config.toml that differs from the package's asks on standard input and fails on its end ("end
# of file on stdin at conffile prompt"), unless -o Dpkg::Options::=--force-confold keeps the file.
# (dpkg asks only when the package's own file changed between the versions too; the stand-in
# asks every time, which is stricter.)
if [ "${DEBIAN_FRONTEND:-}" != noninteractive ]; then
  echo "apt-get: DEBIAN_FRONTEND is not noninteractive: apt could prompt" >&2
  exit 100
fi
command='' allow_held=0 allow_downgrades=0 confold=0 packages=() lock_timeout=0 option=0
for arg in "$@"; do
  if [ "$option" = 1 ]; then
    option=0
    case $arg in
    DPkg::Lock::Timeout=[0-9]*) lock_timeout=${arg#*=} ;;
    Dpkg::Options::=--force-confold) confold=1 ;;
    Dpkg::Options::=--force-confdef) ;;
    *) unsupported ;;
    esac
    continue
  fi
  case $arg in
  -o) option=1 ;;
  --allow-change-held-packages) allow_held=1 ;;
  --allow-downgrades) allow_downgrades=1 ;;
  -y | -q) ;;
  -*) unsupported ;;
  *)
    if [ -z "$command" ]; then command=$arg; else packages+=("$arg"); fi
    ;;
  esac
done
mkdir -p "$state/dpkg"
package_default='disabled_plugins = ["cri"]'
case $command in
update)
  [ ${#packages[@]} -eq 0 ] || unsupported
  if [ -f "$state/lists-lock" ]; then
    read -r holder until <"$state/lists-lock"
    if [ "$(slept)" -lt "$until" ]; then
      echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 1042 ($holder)" >&2
      echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
      exit 100
    fi
  fi
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
  if [ -f "$state/dpkg-lock" ]; then
    read -r holder seconds <"$state/dpkg-lock"
    if [ "$lock_timeout" -lt "$seconds" ]; then
      echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1042 ($holder)" >&2
      exit 100
    fi
    rm -f "$state/dpkg-lock" # released while this call waited
  fi
  versions=()
  for p in "${packages[@]}"; do
    name=${p%%=*} version=${p#*=}
    case $name in
    containerd.io)
      if [ "$p" = "$name" ]; then
        version=$(candidate "$name")
        if [ -z "$version" ]; then
          echo "E: Package '$name' has no installation candidate" >&2
          exit 100
        fi
      elif ! available "$name" | grep -xF -- "$version" >/dev/null; then
        echo "E: Version '$version' for '$name' was not found" >&2
        exit 100
      fi
      ;;
    kubelet | kubeadm | kubectl)
      [ "$p" != "$name" ] || unsupported
      release=${version%%-*}
      if ! grep -qF "pkgs.k8s.io/core:/stable:/v${release%.*}/deb/ /" "$state/apt-lists" 2>/dev/null; then
        echo "E: Version '$version' for '$name' was not found" >&2
        exit 100
      fi
      ;;
    *) unsupported ;;
    esac
    current=$(installed "$name" || true)
    if [ -f "$state/hold/$name" ] && [ "$allow_held" = 0 ] && [ "$current" != "$version" ]; then
      echo "E: Held packages were changed and -y was used without --allow-change-held-packages." >&2
      exit 100
    fi
    if [ -n "$current" ] && older "$version" "$current" && [ "$allow_downgrades" = 0 ]; then
      echo "E: Packages were downgraded and -y was used without --allow-downgrades." >&2
      exit 100
    fi
    versions+=("$version")
  done
  for i in "${!packages[@]}"; do
    name=${packages[$i]%%=*} version=${versions[$i]}
    current=$(installed "$name" || true)
    if [ "$current" = "$version" ]; then
      echo "$name is already the newest version ($version)."
      continue
    fi
    if [ "$name" = containerd.io ]; then
      config="$root/etc/containerd/config.toml"
      if [ -n "$current" ] && [ -f "$config" ] && [ "$(cat "$config")" != "$package_default" ] && [ "$confold" = 0 ]; then
        echo "Configuration file '/etc/containerd/config.toml'"
        echo " ==> Modified (by you or by a script) since installation."
        echo "*** config.toml (Y/I/N/O/D/Z) [default=N] ? dpkg: error processing package containerd.io (--configure):" >&2
        echo " end of file on stdin at conffile prompt" >&2
        exit 100
      fi
      if [ ! -e "$config" ]; then
        mkdir -p "$root/etc/containerd"
        printf '%s\n' "$package_default" >"$config"
      fi
      mkdir -p "$state/enabled" "$state/running"
      : >"$state/enabled/containerd"
      cp "$config" "$state/running/containerd"
    fi
    printf '%s' "$version" >"$state/dpkg/$name"
    echo "Setting up $name ($version) ..."
  done
  ;;
*) unsupported ;;
esac
