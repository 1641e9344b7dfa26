#!/usr/bin/env bash
# Creates the OpenLineage validator's Python environment in DIR (default:
# ${CARGO_TARGET_DIR:-target}/tmp/openlineage-venv) with the packages pinned in
# requirements.txt, unless DIR already has exactly them. The OpenLineage tests run this when the
# environment is missing; scripts/test runs it first. Needs python3 (3.9 or later) with venv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-${CARGO_TARGET_DIR:-$here/../../target}/tmp/openlineage-venv}"
req="$here/requirements.txt"
stamp="$dir/.requirements"
if [ -x "$dir/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  exit 0
fi
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null; then
  echo "tests/openlineage/install.sh: no $python; the OpenLineage tests need Python 3 with venv" >&2
  exit 2
fi
# Built beside DIR and renamed into place, so a test binary never sees half an environment.
tmp="$dir.tmp.$$"
rm -rf "$tmp"
mkdir -p "$(dirname "$dir")"
"$python" -m venv "$tmp"
"$tmp/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
cp "$req" "$tmp/.requirements"
rm -rf "$dir"
mv "$tmp" "$dir" 2>/dev/null || { rm -rf "$tmp"; [ -f "$stamp" ]; }
echo "tests/openlineage/install.sh: OpenLineage validator ready in $dir" >&2
