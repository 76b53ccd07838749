#!/usr/bin/env bash
# Regenerates generated_client/llamacloud_batch_api/ from openapi.yaml.
#
#   ./generate.sh               rewrite generated_client/ in place
#   ./generate.sh --output DIR  write the package into DIR instead (the drift check uses this)
#   ./generate.sh --spec FILE   generate from FILE instead of openapi.yaml (tests use this)
#
# It uses the openapi-python-client and ruff of the Python environment it runs
# in (PATH or an active virtual environment); their versions are pinned in the
# `dev` extra of pyproject.toml. Output is written to a scratch folder first and
# moved into place only if the generator and every hook succeeded. Three of the
# generator's templates are replaced by those in generator_templates/ (its
# README says which and why).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
package=llamacloud_batch_api
dest="$here/generated_client"
spec="$here/openapi.yaml"

while [ $# -gt 0 ]; do
  case "$1" in
    --output) dest=$2; shift 2 ;;
    --spec) spec=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "generate.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

for tool in openapi-python-client ruff; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "generate.sh: '$tool' is not on PATH." >&2
    echo "  Install the pinned tools with:  pip install -e '.[dev]'  (or run: make generate)" >&2
    exit 1
  fi
done

# Both tools shape the output (ruff formats it in the post hooks), so both must
# be the pinned versions for the result to match the committed folder.
for tool in openapi-python-client ruff; do
  want=$(sed -n "s/.*\"$tool==\([^\"]*\)\".*/\1/p" "$here/pyproject.toml")
  have=$("$tool" --version | awk '{print $NF}')
  if [ -n "$want" ] && [ "$have" != "$want" ]; then
    echo "generate.sh: $tool $have found, $want pinned in pyproject.toml." >&2
    echo "  Install the pinned tools with:  pip install -e '.[dev]'" >&2
    exit 1
  fi
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The generator runs the post hooks inside its output folder; an empty ruff.toml
# above them is a second guard against configuration leaking in from outside.
: > "$scratch/ruff.toml"
openapi-python-client generate \
  --path "$spec" \
  --config "$here/openapi-python-client.yaml" \
  --custom-template-path "$here/generator_templates" \
  --meta none \
  --output-path "$scratch/$package" \
  --overwrite \
  --fail-on-warning

cat > "$scratch/README.md" <<'README'
# Generated code: do not edit

Everything in this folder is written by `./generate.sh` (openapi-python-client,
configured by `openapi-python-client.yaml` and the templates in
`generator_templates/`) from `openapi.yaml`. Change the spec or the generator's
configuration and run `./generate.sh` (or `make generate`); a test fails when
this folder differs from what the spec generates.
README
touch "$scratch/$package/py.typed"

mkdir -p "$dest"
rm -rf "${dest:?}/$package" "$dest/README.md"
mv "$scratch/$package" "$dest/$package"
mv "$scratch/README.md" "$dest/README.md"
echo "generate.sh: wrote $dest/$package"
