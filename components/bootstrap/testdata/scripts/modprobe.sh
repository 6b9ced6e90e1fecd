# modprobe MODULE loads MODULE: it appears in $root/sys/module as on a real kernel.
[ $# -eq 1 ] || unsupported
case $1 in overlay | br_netfilter) ;; *) unsupported ;; esac
mkdir -p "$root/sys/module/$1"
