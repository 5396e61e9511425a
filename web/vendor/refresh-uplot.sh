#!/bin/sh
# Refreshes the vendored uPlot (web/vendor/uplot/) from the npm registry.
#
#   web/vendor/refresh-uplot.sh            # the version pinned below
#   web/vendor/refresh-uplot.sh 1.6.33     # another one; then update UPLOT_VERSION below
#
# The dashboard is buildless and must work offline, so uPlot is committed rather than fetched
# at run time. Only the ESM build, its stylesheet, its type declarations and the licence are
# kept, since web/embed.go embeds everything under web/ (except this script and test/). The
# declarations are renamed uPlot.esm.d.ts so that `// @ts-check` editors find them for
# `import uPlot from '.../uPlot.esm.js'`; browsers never load them.
# Needs only `npm` (no global installs); `npm pack` checks the tarball's registry integrity.
set -eu

UPLOT_VERSION=1.6.32
version="${1:-$UPLOT_VERSION}"

here=$(cd "$(dirname "$0")" && pwd)
dest="$here/uplot"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# --ignore-scripts: packing must never run code from the package.
(cd "$tmp" && npm pack --silent --ignore-scripts "uplot@$version" >/dev/null)
tarball=$(ls "$tmp"/uplot-*.tgz)
tar -xzf "$tarball" -C "$tmp"

for f in dist/uPlot.esm.js dist/uPlot.min.css dist/uPlot.d.ts LICENSE; do
	if [ ! -s "$tmp/package/$f" ]; then
		echo "refresh-uplot: uplot@$version has no $f; the package layout changed" >&2
		exit 1
	fi
done

mkdir -p "$dest"
cp "$tmp/package/dist/uPlot.esm.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" "$dest/"
cp "$tmp/package/dist/uPlot.d.ts" "$dest/uPlot.esm.d.ts"
resolved=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$tmp/package/package.json" | head -n 1)
echo "vendored uplot@$resolved into $dest"
