# nft -f FILE loads the ruleset FILE (it must declare table inet metalk8s and balance its braces):
# the loaded ruleset is recorded in $state/nftables.
{ [ $# -eq 2 ] && [ "$1" = -f ]; } || unsupported
if ! grep -q '^table inet metalk8s {$' "$2" ||
  [ "$(tr -cd '{' <"$2" | wc -c)" != "$(tr -cd '}' <"$2" | wc -c)" ]; then
  echo "$2: Error: syntax error" >&2
  exit 1
fi
cp "$2" "$state/nftables"
