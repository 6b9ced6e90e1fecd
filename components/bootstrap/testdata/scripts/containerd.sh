# containerd --version prints the version of the installed containerd.io package.
[ "$*" = --version ] || unsupported
if ! version=$(installed containerd.io); then
  echo "bash: containerd: command not found" >&2
  exit 127
fi
echo "containerd containerd.io ${version%%-*} 05044ec0a9a75232cad458027ca83437aae3f4da"
