# dpkg-query --show --showformat='${Version}' PACKAGE prints the version apt-get install recorded.
# shellcheck disable=SC2016 # ${Version} is dpkg-query's, not the shell's.
{ [ $# -eq 3 ] && [ "$1" = --show ] && [ "$2" = '--showformat=${Version}' ]; } || unsupported
if ! installed "$3"; then
  echo "dpkg-query: no packages found matching $3" >&2
  exit 1
fi
