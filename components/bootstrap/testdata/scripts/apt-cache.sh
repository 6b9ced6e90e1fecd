# apt-cache policy containerd.io prints what apt would install (candidate in prelude.sh), in apt's
# format: "  Installed: VERSION|(none)" and "  Candidate: VERSION|(none)", then the version table.
{ [ $# -eq 2 ] && [ "$1" = policy ] && [ "$2" = containerd.io ]; } || unsupported
current=$(installed "$2" || true)
if [ -z "$current" ] && [ -z "$(available "$2")" ]; then
  exit 0 # apt prints nothing for a package no repository offers
fi
echo "$2:"
echo "  Installed: ${current:-(none)}"
c=$(candidate "$2")
echo "  Candidate: ${c:-(none)}"
echo "  Version table:"
{ available "$2"; [ -z "$current" ] || echo "$current"; } | sort -Vru | while read -r v; do
  echo "     $v $(priority "$2" "$v")"
done
