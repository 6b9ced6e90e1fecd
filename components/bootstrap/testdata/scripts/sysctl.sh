# sysctl --system applies $root/etc/sysctl.d: what it applied is recorded in $state/sysctl.
[ "$*" = --system ] || unsupported
cat "$root"/etc/sysctl.d/*.conf >"$state/sysctl" 2>/dev/null || : >"$state/sysctl"
echo "* Applying $root/etc/sysctl.d/90-metalk8s.conf ..."
