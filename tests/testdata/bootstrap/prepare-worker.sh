#!/usr/bin/env bash
# Prepares sv-worker-0 for kubeadm: swap off, kernel modules and sysctls, containerd 2.2 with
# the systemd cgroup driver, kubelet/kubeadm/kubectl 1.37.2 (on a node not in a cluster yet),
# all four held, the host firewall and the helper scripts. Rendered by metalk8s; safe to run again: it changes only what differs.
# The script arrives on standard input (bash -s). Its body is one block, closed on its last line:
# bash reads the whole block before running any of it, and every command then reads /dev/null, so
# a child that reads standard input (a dpkg prompt) cannot eat the rest of the script.
{
exec </dev/null
set -o errexit -o nounset -o pipefail
export DEBIAN_FRONTEND=noninteractive
# Files are written below METALK8S_ROOT (empty on a node), which lets tests run this in a scratch tree.
root="${METALK8S_ROOT:-}"

log() {
  printf 'metalk8s: %s\n' "$*" >&2
}

# retry ATTEMPTS COMMAND...: run COMMAND until it succeeds, at most ATTEMPTS times, waiting
# 2, 4, 8 ... 30 seconds between attempts. For network operations that fail transiently.
retry() {
  local attempts=$1 n=1 delay=2
  shift
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      log "giving up after $n attempts: $*"
      return 1
    fi
    log "attempt $n of $attempts failed, retrying in ${delay}s: $*"
    sleep "$delay"
    n=$((n + 1))
    delay=$((delay * 2))
    if [ "$delay" -gt 30 ]; then delay=30; fi
  done
}

# update_file PATH MODE: write standard input to PATH (below the root) when it differs from what is
# there. Succeeds when the file changed, fails when it was already up to date. Callers test its
# status, which turns errexit off inside it: a file it cannot write exits the script.
update_file() {
  local path="$root$1" mode=$2 tmp
  mkdir -p "$(dirname "$path")" || exit
  tmp=$(mktemp "$path.XXXXXX") || exit
  { cat >"$tmp" && chmod "$mode" "$tmp"; } || { rm -f "$tmp"; exit 1; }
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$path" || exit
  log "wrote $1"
}

# forget PATH: remove PATH (below the root) and exit the script, when applying the change
# update_file just made to PATH failed: the next run writes PATH again and applies it again.
forget() {
  rm -f "$root$1"
  log "failed to apply $1"
  exit 1
}

# The packages come from Docker's and pkgs.k8s.io's Ubuntu repositories: only Ubuntu 22.04 and
# 24.04 qualify. Any other system is refused before anything changes.
os_id=$(sed -n 's/^ID=//p' "$root/etc/os-release" | tr -d '"')
codename=$(sed -n 's/^VERSION_CODENAME=//p' "$root/etc/os-release" | tr -d '"')
case "$os_id:$codename" in
  ubuntu:jammy | ubuntu:noble) ;;
  *)
    log "sv-worker-0 runs ${os_id:-an unknown system} ${codename:-(no codename)}; metalk8s prepares Ubuntu 22.04 (jammy) and 24.04 (noble) only"
    exit 1
    ;;
esac

# First boot: cloud-init, and the unattended upgrades it starts, hold apt's and dpkg's locks for
# minutes on a new machine. Wait for cloud-init (bounded; a machine without it, or where it ended
# in error, goes on), and let apt wait for a lock still held (DPkg::Lock::Timeout, in seconds).
if command -v cloud-init >/dev/null 2>&1; then
  timeout 1200 cloud-init status --wait >/dev/null || log "cloud-init status --wait: exit $?; going on"
fi
apt_lock=DPkg::Lock::Timeout=600
# A package upgrade or downgrade keeps the configuration files metalk8s changed: dpkg would ask on
# standard input, which is /dev/null here, and fail.
keep_config=(-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# The kubelet refuses to start with swap on.
if [ -n "$(swapon --show --noheadings)" ]; then
  swapoff -a
fi
if grep -Eq '^[^#].*[[:space:]]swap[[:space:]]' "$root/etc/fstab"; then
  sed -i -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/# \1/' "$root/etc/fstab"
  log "disabled swap in /etc/fstab"
fi

# Pod networking needs overlay and br_netfilter, bridged traffic seen by netfilter, and forwarding.
update_file /etc/modules-load.d/metalk8s.conf 0644 <<'MODULES' || true
overlay
br_netfilter
MODULES
for module in overlay br_netfilter; do
  if [ ! -d "$root/sys/module/$module" ]; then
    modprobe "$module"
  fi
done
if update_file /etc/sysctl.d/90-metalk8s.conf 0644 <<'SYSCTL'; then
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
SYSCTL
  sysctl --system >/dev/null || forget /etc/sysctl.d/90-metalk8s.conf
fi

# Package repositories: Docker's for containerd 2, pkgs.k8s.io (one repository per minor version).
keyrings=/etc/apt/keyrings
sources_changed=0
add_key() {
  local url=$1 file=$2
  if [ ! -s "$root$keyrings/$file" ]; then
    mkdir -p "$root$keyrings"
    retry 5 curl -fsSL --max-time 60 "$url" -o "$root$keyrings/$file.asc"
    gpg --batch --yes --dearmor -o "$root$keyrings/$file" "$root$keyrings/$file.asc"
    rm -f "$root$keyrings/$file.asc"
  fi
}
add_key https://download.docker.com/linux/ubuntu/gpg docker.gpg
add_key https://pkgs.k8s.io/core:/stable:/v1.37/deb/Release.key kubernetes-v1.37.gpg
if update_file /etc/apt/sources.list.d/docker.list 0644 <<DOCKER; then
deb [signed-by=$keyrings/docker.gpg] https://download.docker.com/linux/ubuntu $codename stable
DOCKER
  sources_changed=1
fi
if update_file /etc/apt/sources.list.d/kubernetes.list 0644 <<'KUBERNETES'; then
deb [signed-by=/etc/apt/keyrings/kubernetes-v1.37.gpg] https://pkgs.k8s.io/core:/stable:/v1.37/deb/ /
KUBERNETES
  sources_changed=1
fi

installed() {
  dpkg-query --show --showformat='${Version}' "$1" 2>/dev/null || true
}
apt_updated=0
# apt-get update takes the package lists' lock without waiting for it (DPkg::Lock::Timeout is for
# dpkg's lock only): an apt-daily run holding it fails the call at once, so it is retried for
# about three minutes.
apt_update() {
  if [ "$apt_updated" -eq 0 ]; then
    retry 10 apt-get update -q
    apt_updated=1
  fi
}
if [ "$sources_changed" -eq 1 ]; then
  apt_update
fi

# containerd 2.2, configured for the kubelet's systemd cgroup driver. Docker's
# containerd.io versions carry a packaging revision and, for 2.x, the distribution
# (2.2.1-1~ubuntu.24.04~noble): apt is pinned to the minor with a glob on the version, at a
# priority above 1000 so that a newer minor already installed is downgraded. A pin that matches no
# version pins nothing (apt would take the newest), so the candidate is checked before installing.
update_file /etc/apt/preferences.d/metalk8s-containerd 0644 <<'PREFERENCES' || true
Package: containerd.io
Pin: version 2.2.*
Pin-Priority: 1001
PREFERENCES
containerd_minor=2.2
if [[ $(installed containerd.io) != "$containerd_minor".* ]]; then
  apt_update
  containerd_candidate=$(LC_ALL=C apt-cache policy containerd.io | sed -n 's/^ *Candidate: //p')
  if [[ $containerd_candidate != "$containerd_minor".* ]]; then
    log "containerd.io: apt offers ${containerd_candidate:-nothing}, not $containerd_minor.x; metalk8s needs containerd $containerd_minor"
    exit 1
  fi
  retry 5 apt-get install -o "$apt_lock" "${keep_config[@]}" -y -q --allow-downgrades --allow-change-held-packages \
    "containerd.io=$containerd_candidate"
fi
if update_file /etc/containerd/config.toml 0644 <<'CONTAINERD'; then
# containerd 2 configuration written by metalk8s; everything not set here keeps its default.
version = 3

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = true

# The sandbox (pause) image kubeadm v1.37.2 expects (constants.PauseVersion, registry.k8s.io):
# containerd 2 minors default to different pause versions, and kubeadm warns when they differ.
[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = 'registry.k8s.io/pause:3.10.2'
CONTAINERD
  systemctl restart containerd || forget /etc/containerd/config.toml
fi
if ! systemctl is-enabled --quiet containerd; then
  systemctl enable --now containerd
fi

# kubelet, kubeadm and kubectl at exactly 1.37.2, on a node that is not part of a cluster
# yet: kubeadm writes /etc/kubernetes/kubelet.conf when a node initialises or joins, then the upgrade steps
# move these packages, in kubeadm's order (the control plane first, then one node at a time).
# Installing them here would put kubelets ahead of their API server.
want=1.37.2-1.1
if [ -f "$root/etc/kubernetes/kubelet.conf" ]; then
  log "sv-worker-0 is part of a cluster: kubelet, kubeadm and kubectl are left to the upgrade steps"
elif [ "$(installed kubelet)" != "$want" ] || [ "$(installed kubeadm)" != "$want" ] || [ "$(installed kubectl)" != "$want" ]; then
  apt_update
  apt-mark unhold kubelet kubeadm kubectl >/dev/null 2>&1 || true
  retry 5 apt-get install -o "$apt_lock" "${keep_config[@]}" -y -q --allow-downgrades --allow-change-held-packages \
    "kubelet=$want" "kubeadm=$want" "kubectl=$want"
fi
# Held with containerd.io, so that upgrades leave all four alone.
if [ "$(apt-mark showhold containerd.io kubelet kubeadm kubectl | wc -l)" -ne 4 ]; then
  apt-mark hold containerd.io kubelet kubeadm kubectl >/dev/null
fi
if ! systemctl is-enabled --quiet kubelet; then
  systemctl enable kubelet
fi

# Host firewall: on the public address only SSH are reachable.
firewall_changed=0
if update_file /etc/metalk8s/firewall.nft 0644 <<'FIREWALL'; then
# Host firewall of sv-worker-0, written by metalk8s.
# Reachable on the node's public IPv4 address: SSH.
# Reachable over IPv6 (every address but loopback; the cluster uses none): SSH only.
# Closed there: etcd (2379-2380), the kubelet (10250), the controller manager (10257), the
# scheduler (10259), Typha (5473), MetalLB's speaker (9120) and every other port; the API server
# binds every address of both families when it is allow-listed. Private, link-local IPv4 and pod
# traffic is not filtered, except that pods cannot reach the addresses in pod_blocked.
# Neighbour discovery and the ICMPv6 errors (packet too big above all: without it IPv6 paths with
# a smaller MTU stall) keep working.
table ip metalk8s
delete table ip metalk8s
table inet metalk8s
delete table inet metalk8s
table inet metalk8s {
	chain input {
		type filter hook input priority filter; policy accept;
		iif "lo" accept
		ip daddr != 203.0.113.13 accept
		ct state established,related accept
		tcp dport 22 accept
		icmp type { echo-request, destination-unreachable, time-exceeded } accept
		icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request } accept
		icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept
		icmpv6 type mld-listener-query ip6 saddr fe80::/10 accept
		counter drop
	}

	# Pods may not reach these addresses (the provider's metadata service hands out credentials
	# and the device's user data).
	set pod_blocked {
		type ipv4_addr
		flags interval
		elements = { 192.80.8.124/32 }
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
		ip saddr 172.16.0.0/12 ip daddr @pod_blocked counter reject
	}
}
FIREWALL
  firewall_changed=1
fi
if update_file /etc/systemd/system/metalk8s-firewall.service 0644 <<'UNIT'; then
[Unit]
Description=metalk8s host firewall
Wants=network-pre.target
Before=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/nft -f /etc/metalk8s/firewall.nft

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload || forget /etc/systemd/system/metalk8s-firewall.service
  firewall_changed=1
fi
if [ "$firewall_changed" -eq 1 ]; then
  nft -f "$root/etc/metalk8s/firewall.nft" || forget /etc/metalk8s/firewall.nft
fi
if ! systemctl is-enabled --quiet metalk8s-firewall; then
  systemctl enable metalk8s-firewall
fi

# Helper scripts the delete actions of the remote steps call.
update_file /usr/local/sbin/metalk8s-reset 0755 <<'RESET' || true
#!/usr/bin/env bash
# Removes Kubernetes from this node: called by the delete action of the node's join step.
set -o errexit -o nounset -o pipefail
root="${METALK8S_ROOT:-}"
if [ ! -f "$root/etc/kubernetes/kubelet.conf" ] && [ ! -f "$root/etc/kubernetes/admin.conf" ]; then
  echo "metalk8s: nothing to reset" >&2
  exit 0
fi
kubeadm reset --force >&2
rm -rf "$root/etc/cni/net.d"
rm -f "$root/etc/metalk8s/init.finished" "$root/etc/metalk8s/join.finished"
echo "metalk8s: node reset" >&2
RESET
log "sv-worker-0 is prepared"
}
