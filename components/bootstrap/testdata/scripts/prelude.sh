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

# slept prints the seconds the script has slept so far, the stand-ins' clock: sleep returns at
# once, and its calls are in the log.
slept() {
  local verb seconds total=0
  while read -r verb seconds _; do
    if [ "$verb" = sleep ]; then total=$((total + seconds)); fi
  done <"$STANDIN_LOG"
  echo "$total"
}

# installed PACKAGE prints PACKAGE's installed version; it fails when PACKAGE is not installed.
installed() {
  cat "$state/dpkg/$1" 2>/dev/null
}

# Package versions and apt's choice among them (apt-get and apt-cache).
#
# available PACKAGE prints the versions of containerd.io the repositories recorded by apt-get update
# ($state/apt-lists) offer, newest last: $state/repo/containerd.io (one a line) when a test set
# it, else what Docker's repository for Ubuntu 24.04 looks like. Docker names containerd.io 2.x
# VERSION-REVISION~ubuntu.RELEASE~CODENAME, and the revision varies (2.2.0-2~ubuntu.24.04~noble and
# 2.2.1-1~ubuntu.24.04~noble were published). sort -V orders these as dpkg --compare-versions does.
available() {
  [ "$1" = containerd.io ] || unsupported
  grep -qF 'download.docker.com/linux/ubuntu noble stable' "$state/apt-lists" 2>/dev/null || return 0
  if [ -f "$state/repo/containerd.io" ]; then
    sort -V "$state/repo/containerd.io"
  else
    printf '%s\n' 2.1.5-1~ubuntu.24.04~noble 2.2.0-2~ubuntu.24.04~noble 2.2.1-1~ubuntu.24.04~noble 2.3.0-1~ubuntu.24.04~noble
  fi
}

# older A B succeeds when version A is older than version B.
older() {
  local sorted
  [ "$1" != "$2" ] || return 1
  sorted=$(printf '%s\n' "$1" "$2" | sort -V) || unsupported
  [ "${sorted%%$'\n'*}" = "$1" ]
}

# pin_matches PIN VERSION succeeds when "Pin: version PIN" matches VERSION: a PIN ending in "*"
# matches the versions beginning with the rest, any other the version itself (pkgVersionMatch in
# apt-pkg/versionmatch.cc; its regular expressions and other globs are not modelled).
pin_matches() {
  case $1 in
  *'*') [[ $2 == "${1%'*'}"* ]] ;;
  *[][?*/]*) unsupported ;;
  *) [ "$1" = "$2" ] ;;
  esac
}

# priority PACKAGE VERSION prints the priority apt gives VERSION (apt_preferences(5); apt-pkg/policy.cc):
# that of the first record in /etc/apt/preferences.d naming PACKAGE whose "Pin: version GLOB"
# matches VERSION, else 500 for a version a repository offers and 100 for one only installed.
# apt reads the files in name order and ignores names with other characters than letters, digits,
# "-", "_" and ".", or with an extension other than ".pref". The stand-in models version pins of one
# package only: any other record is unsupported.
priority() {
  local file name line package pin prio eof
  for file in "$root"/etc/apt/preferences.d/*; do
    [ -f "$file" ] || continue
    name=${file##*/}
    if [[ ! $name =~ ^[A-Za-z0-9_.-]+$ ]] || { [[ $name == *.* ]] && [[ $name != *.pref ]]; }; then
      continue
    fi
    package='' pin='' prio='' eof=0
    until [ "$eof" = 1 ]; do
      IFS= read -r line || eof=1
      case $line in
      'Package: '*) package=${line#Package: } ;;
      'Pin: version '*) pin=${line#Pin: version } ;;
      'Pin-Priority: '*) prio=${line#Pin-Priority: } ;;
      '') ;;
      *) unsupported ;;
      esac
      if [ -z "$line" ] || [ "$eof" = 1 ]; then
        if [ "$package" = "$1" ] && [ -n "$pin" ] && pin_matches "$pin" "$2"; then
          echo "${prio:?a pin without Pin-Priority}"
          return
        fi
        package='' pin='' prio=''
      fi
    done <"$file"
  done
  if available "$1" | grep -xF -- "$2" >/dev/null; then echo 500; else echo 100; fi
}

# candidate PACKAGE prints the version apt installs for PACKAGE (pkgPolicy::GetCandidateVer): of
# the versions offered and installed, the one of highest priority, the newest among equals; a
# version older than the installed one only at a priority of 1000 or more. Nothing when there is
# none.
candidate() {
  local current best='' best_prio=-1 v p
  current=$(installed "$1" || true)
  while read -r v; do
    [ -n "$v" ] || continue
    p=$(priority "$1" "$v")
    if [ "$p" -le 0 ] || [ "$p" -le "$best_prio" ]; then continue; fi
    if [ -n "$current" ] && [ "$p" -lt 1000 ] && older "$v" "$current"; then continue; fi
    best=$v best_prio=$p
  done < <({ available "$1"; [ -z "$current" ] || echo "$current"; } | sort -Vru)
  [ -z "$best" ] || echo "$best"
}
