#!/usr/bin/env bash
# Adapter for rule publish: one patient's outputs out of its analysis job's folder, or the
# patient's own failure when the analysis job recorded one (the other patients are unaffected).
# usage: publish.sh ANALYSED_FOLDER LOG FAILED_NAME ERROR_PREFIX OUTPUT...
set -euo pipefail
analysed=$1 log=$2 failed=$3 prefix=$4
shift 4
if [[ -e $analysed/$failed ]]; then
    message=$(head -n 1 "$analysed/$failed")
    printf '%s%s\n' "$prefix" "$message" >"$log"
    printf 'haicgx: %s\n' "$message" >&2
    exit 1
fi
for output in "$@"; do
    cp "$analysed/$(basename "$output")" "$output"
done
printf 'published %s\n' "$*" >"$log"
