#!/usr/bin/env bash
# The end-to-end job, with the installed `provisioning` command on the embedded SQLite
# store in a scratch folder: add the example tenant, validate and plan the example
# upload, apply its valid rows, show the result and its audit trail, then undo it.
#
#   bash examples/demo.sh            # `provisioning` on PATH (an activated venv)
#   PROVISIONING=/path/to/provisioning bash examples/demo.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
provisioning="${PROVISIONING:-$(command -v provisioning || true)}"
if [[ -z "$provisioning" ]]; then
    echo "demo.sh: the provisioning command is not installed: pip install -e '.[cli]'" >&2
    exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export PROVISIONING_DB="$work/provisioning.db"
upload="$here/data/community-upload.csv"
as_of=2026-11-25

bold="" plain=""
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; fi

step() {
    printf '\n%s$ provisioning %s%s\n' "$bold" "$*" "$plain"
    "$provisioning" "$@"
}

# Expected refusals (exit 1) are shown, not fatal; anything else stops the demo.
expect_refused() {
    local code=0
    step "$@" || code=$?
    if [[ $code -ne 1 ]]; then
        echo "demo.sh: expected exit 1 (refused), got $code" >&2
        exit 1
    fi
}

step tenant add "$here/tenants/riverbend-upload.toml"
step tenant check riverbend
expect_refused validate "$upload" --error-report errors.csv
printf '\n%s\n' "errors.csv holds each failed row with its error_* columns first: fix, then upload again."
expect_refused plan "$upload" --tenant riverbend --actor dana --as-of "$as_of"
expect_refused plan "$upload" --tenant riverbend --actor lee --as-of "$as_of"
step plan "$upload" --tenant riverbend --actor dana --as-of "$as_of" \
    --override row_errors --save plan.json
step apply "$upload" --tenant riverbend --actor dana --plan plan.json --override row_errors \
    --yes
step tenant show riverbend
step uploads --tenant riverbend
printf '\n%s\n' "The audit trail: who changed a member's record, when, by which upload and rule."
step history 204001 --tenant riverbend
printf '\n%s\n' "Undo the upload (upload 1): its new records are deactivated, never deleted."
step revert 1 --tenant riverbend --actor dana --as-of "$as_of" --override mass_deactivation --yes
step history 204001 --tenant riverbend
step sso --tenant riverbend --as-of 2027-01-11
step export --tenant riverbend -o export.csv
printf '\n%s\n' "export.csv, the first lines:"
head -n 3 export.csv
