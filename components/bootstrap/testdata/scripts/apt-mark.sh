# apt-mark hold|unhold PACKAGE... marks packages in $state/hold; apt-mark showhold [PACKAGE...]
# lists the held ones.
[ $# -ge 1 ] || unsupported
command=$1
shift
mkdir -p "$state/hold"
case $command in
hold | unhold)
  [ $# -ge 1 ] || unsupported
  for p in "$@"; do
    if [ "$command" = hold ]; then
      : >"$state/hold/$p"
      echo "$p set on hold."
    else
      rm -f "$state/hold/$p"
    fi
  done
  ;;
showhold)
  for p in $(cd "$state/hold" && printf '%s\n' * | sort); do
    if [ "$p" != '*' ] && { [ $# -eq 0 ] || [[ " $* " == *" $p "* ]]; }; then
      echo "$p"
    fi
  done
  ;;
*) unsupported ;;
esac
