#!/usr/bin/env bash
# Installs what the tests of the generated SDKs need from npm (TypeScript and the Pulumi Node.js
# SDK, exact versions) into a cache directory keyed by those versions, and prints the directory
# holding node_modules. A second run finds it and installs nothing.
set -euo pipefail

typescript_version=5.9.3
pulumi_version=3.276.0 # the Pulumi Go SDK's version in go.mod
types_node_version=20.19.9

key="ts${typescript_version}-pulumi${pulumi_version}-node${types_node_version}"
dir="${METALK8S_TOOLS_CACHE:-$HOME/.cache/metalk8s}/npm/$key"
if [ ! -f "$dir/.complete" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --loglevel=error --save-exact \
      "typescript@$typescript_version" "@pulumi/pulumi@$pulumi_version" "@types/node@$types_node_version" >&2)
  touch "$dir/.complete"
fi
echo "$dir"
