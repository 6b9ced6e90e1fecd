# Prelude of every stand-in: scripts_test.go writes each stand-in as a shebang, this file and the
# command's own file (NAME.sh becomes the command NAME). It records the call in $STANDIN_LOG, one
# line "NAME ARG...", and applies the failures injected through $STANDIN_FAULTS.
set -o errexit -o nounset -o pipefail
me=${0##*/}
# shellcheck disable=SC2034 # not every stand-in writes below the root.
root=${METALK8S_ROOT:?}
state=${STANDIN_STATE:?}
call="$me${*:+ $*}"
printf '%s\n' "$call" >>"${STANDIN_LOG:?}"
# A call matching the glob in $state/reads-stdin/NAME reads all of its standard input first, as a
# prompting child would: run from a script piped to bash -s, it would eat the rest of the script.
if [ -f "$state/reads-stdin/$me" ]; then
  # shellcheck disable=SC2053 # a pattern on purpose.
  if [[ $call == $(cat "$state/reads-stdin/$me") ]]; then
    cat >/dev/null
  fi
fi

# $STANDIN_FAULTS holds one rule a line: "EXIT TIMES GLOB". A call matching GLOB (as logged) exits
# with EXIT, the first TIMES times it is made, or every time when TIMES is "always". Rule N counts
# its failures in $STANDIN_FAULTS.N.
if [ -f "${STANDIN_FAULTS:-}" ]; then
  rule=0
  while read -r code times glob; do
    rule=$((rule + 1))
    # shellcheck disable=SC2053 # GLOB is a pattern on purpose.
    if [[ $call != $glob ]]; then
      continue
    fi
    fired=$(cat "$STANDIN_FAULTS.$rule" 2>/dev/null || echo 0)
    if [ "$times" = always ] || [ "$fired" -lt "$times" ]; then
      echo $((fired + 1)) >"$STANDIN_FAULTS.$rule"
      echo "$me: injected failure (exit $code)" >&2
      exit "$code"
    fi
  done <"$STANDIN_FAULTS"
fi

# unsupported fails a call the stand-in does not model, so that a script calling a command in a new
# way fails its test instead of passing unchecked.
unsupported() {
  echo "$me stand-in: unsupported call: $call" >&2
  exit 2
}

# installed PACKAGE prints PACKAGE's installed version; it fails when PACKAGE is not installed.
installed() {
  cat "$state/dpkg/$1" 2>/dev/null
}
