#!/bin/sh
# The Python SDK's tests: installs clients/python offline into a scratch directory, checks
# its console script, then runs tests/sdk/test_*.py against a gateway they start.
# Usage: tests/sdk/run_tests.sh [BINARY]   (default: $CI_BINARY, else build/default/code-interpreter)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=/usr/bin/python3
CI_BINARY=${1:-${CI_BINARY:-$repo/build/default/code-interpreter}}
export CI_BINARY PYTHONDONTWRITEBYTECODE=1
[ -x "$CI_BINARY" ] || { echo "no gateway binary at $CI_BINARY" >&2; exit 1; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ci-sdk-install-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
# Build from a copy: an in-tree build would leave build/ and *.egg-info in the source tree.
cp -R "$repo/clients/python" "$scratch/src"
if "$python" -m pip install --quiet --no-index --no-deps --no-build-isolation \
     --target "$scratch/site" "$scratch/src" >"$scratch/pip.log" 2>&1; then
  PYTHONPATH=$scratch/site
  echo "sdk: installed into $scratch/site"
  PYTHONPATH=$PYTHONPATH "$scratch/site/bin/code-interpreter-client" --help >/dev/null ||
    { echo "the code-interpreter-client console script does not run" >&2; exit 1; }
else
  echo "sdk: pip could not install the package offline; testing the source tree" >&2
  cat "$scratch/pip.log" >&2
  PYTHONPATH=$repo/clients/python
fi
export PYTHONPATH
cd "$here"
"$python" -m unittest discover -s "$here" -t "$here" -v
