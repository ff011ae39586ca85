#!/usr/bin/env bash
# Installs the plotting libraries report.html inlines (Vega, Vega-Lite, vega-embed; pinned) from
# the npm registry into third_party/web/node_modules (git-ignored). Idempotent: does nothing
# when the pinned versions are present. `leancnn run`/`leancnn report` read the built
# *.min.js files from there (or from $LEANCNN_WEB_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSIONS=(vega@5.33.0 vega-lite@5.23.0 vega-embed@6.29.0)
dir=third_party/web
files=(vega/build/vega.min.js vega-lite/build/vega-lite.min.js vega-embed/build/vega-embed.min.js)

present=1
for spec in "${VERSIONS[@]}"; do
  name=${spec%@*}
  want=${spec#*@}
  pkg="$dir/node_modules/$name/package.json"
  have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg" 2>/dev/null | head -1 || true)
  [ "$have" = "$want" ] || present=0
done
for f in "${files[@]}"; do [ -f "$dir/node_modules/$f" ] || present=0; done
if [ "$present" = 1 ]; then
  echo "install-web: ${VERSIONS[*]} present in $dir"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "install-web: error: npm is missing; install Debian's 'npm' package (scripts/install-deps.sh does)" >&2
  exit 1
fi
mkdir -p "$dir"
# --ignore-scripts: the UMD builds ship in the tarballs; nothing needs to run at install time.
if ! npm install --prefix "$dir" --no-save --no-audit --no-fund --ignore-scripts --omit=optional "${VERSIONS[@]}"; then
  echo "install-web: error: 'npm install ${VERSIONS[*]}' failed; check the network or the npm registry settings" >&2
  exit 1
fi
for f in "${files[@]}"; do
  if [ ! -f "$dir/node_modules/$f" ]; then
    echo "install-web: error: $dir/node_modules/$f is missing after the install" >&2
    exit 1
  fi
done
echo "install-web: installed ${VERSIONS[*]} into $dir"
