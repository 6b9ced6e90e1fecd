#!/usr/bin/env bash
# The test command: prepares a fresh Debian machine (Debian packages and Go tools the tests use),
# then runs every test. Run it from anywhere: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages whose programs the tests run on what the project generates (iproute2's ip makes
# the network namespaces of the real control plane, the firewall lab, the BGP lab and the SSH lab;
# openssh-server's sshd and openssh-client's ssh serve and cross-check the SSH lab; curl is the
# API address health check's probe, which the API-address lab runs). nodejs and npm
# run tsc on the TypeScript example against the generated SDK; python3 and the Debian packages of
# the Pulumi Python SDK's dependencies import the generated Python SDK (PyPI is not used: the
# Pulumi Python SDK's source comes from the Go module cache).
apt_packages=(shellcheck bird nftables gobgpd iproute2 openssh-server openssh-client curl
  python3 python3-grpcio python3-protobuf python3-dill python3-semver python3-yaml
  python3-packaging python3-typing-extensions python3-six)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# Node.js and npm from Debian only when the machine has none: a machine with NodeSource's nodejs
# (which bundles npm) cannot take Debian's npm package (nodejs: Conflicts: npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The real kubeadm, kube-apiserver, kube-controller-manager, kubectl, etcd and kubeadm's join
# discovery, built from tools/kube once and cached (the first build took 40 minutes on two cores
# shared with other builds; a cached run takes a second); the tests find them through
# METALK8S_KUBE_TOOLS, and with CI=true a test fails when they are missing.
if [ -z "${METALK8S_KUBE_TOOLS:-}" ]; then
  echo "== the real Kubernetes tools (scripts/kube-tools.sh)"
  start=$SECONDS
  METALK8S_KUBE_TOOLS=$(bash scripts/kube-tools.sh)
  echo "   in $METALK8S_KUBE_TOOLS ($((SECONDS - start)) s)"
fi
export METALK8S_KUBE_TOOLS

# TypeScript and the Pulumi Node.js SDK for the generated TypeScript SDK's test, exact versions
# from npm, cached by version (a second run installs nothing); Debian's python3 for the Python SDK.
echo "== npm packages for the SDK tests (scripts/sdk-tools.sh)"
METALK8S_NODE_MODULES=$(bash scripts/sdk-tools.sh)
echo "   in $METALK8S_NODE_MODULES"
export METALK8S_NODE_MODULES
export METALK8S_PYTHON=${METALK8S_PYTHON:-/usr/bin/python3}

echo "== go test ./..."
# CI=true makes a test that cannot find a tool fail instead of skip. The script harness of
# components/bootstrap runs every script many times; on a loaded two-core machine it has taken
# close to ten minutes, go test's default limit per package.
go test -count=1 -timeout 40m ./...

echo "== fuzzing (bounded by execution count; the first run instruments every dependency)"
go test ./config -run '^$' -fuzz '^FuzzParse$' -fuzztime 20000x
go test ./tests -run '^$' -fuzz '^FuzzProgramEdits$' -fuzztime 300x -fuzzminimizetime 1x

echo "== benchmarks (one run each; figures in the output)"
go test ./tests -run '^$' -bench Program -benchtime 1x -cpu 1 -benchmem
go test ./cmd/plan -run '^$' -bench Plan -benchtime 1x -benchmem
