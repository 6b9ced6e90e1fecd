# curl URL -o FILE downloads an armored key naming URL into FILE.
url='' out=''
while [ $# -gt 0 ]; do
  case $1 in
  -o) out=$2 && shift ;;
  --max-time) shift ;;
  -fsSL) ;;
  -*) unsupported ;;
  *) url=$1 ;;
  esac
  shift
done
{ [ -n "$url" ] && [ -n "$out" ]; } || unsupported
printf -- '-----BEGIN PGP PUBLIC KEY BLOCK-----\n%s\n-----END PGP PUBLIC KEY BLOCK-----\n' "$url" >"$out"
