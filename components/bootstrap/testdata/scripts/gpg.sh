# gpg --batch --yes --dearmor -o OUT IN converts the armored key IN into the keyring OUT.
{ [ $# -eq 6 ] && [ "$1 $2 $3 $4" = "--batch --yes --dearmor -o" ]; } || unsupported
if ! grep -q -- '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$6"; then
  echo "gpg: no valid OpenPGP data found." >&2
  exit 2
fi
sed 's/^/keyring: /' "$6" >"$5"
