# swapoff -a turns swap off for good ($state/swapoff).
[ "$*" = -a ] || unsupported
: >"$state/swapoff"
