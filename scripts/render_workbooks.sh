#!/usr/bin/env bash
# Render the first page of every workbook in a folder to PNG, for a person to look at.
# Usage: scripts/render_workbooks.sh out/factory [PNG_FOLDER]
# Needs LibreOffice (soffice) and poppler-utils (pdftoppm).
set -euo pipefail
src=${1:?usage: $0 OUTPUT_FOLDER [PNG_FOLDER]}
dest=${2:-$src/png}
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for book in "$src"/*.xlsx; do
  soffice -env:UserInstallation="file://$tmp/profile" --headless --convert-to pdf --outdir "$tmp" "$book" >/dev/null 2>&1
  name=$(basename "$book" .xlsx)
  pdftoppm -png -r 90 -f 1 -l 1 -singlefile "$tmp/$name.pdf" "$dest/$name"
  echo "$dest/$name.png"
done
