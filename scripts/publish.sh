#!/usr/bin/env bash
# Adapter for rule publish: one patient's outputs out of its analysis job's folder, or the
# patient's own failure when the analysis job recorded one (the other patients are unaffected).
# usage: publish.sh ANALYSED_FOLDER LOG FAILED_NAME ERROR_PREFIX OUTPUT...
# The outputs share one folder; they are hard-linked where the filesystem allows (no copy of a
# large variants.tsv while the analysis folder, a temp() output, still exists), else copied.
set -euo pipefail
analysed=$1 log=$2 failed=$3 prefix=$4
shift 4
if [[ -e $analysed/$failed ]]; then
    message=$(head -n 1 "$analysed/$failed")
    printf '%s%s\n' "$prefix" "$message" >"$log"
    printf 'haicgx: %s\n' "$message" >&2
    exit 1
fi
sources=()
for output in "$@"; do
    sources+=("$analysed/${output##*/}")
done
target=$(dirname "$1")
cp -l -f -- "${sources[@]}" "$target" 2>/dev/null || cp -f -- "${sources[@]}" "$target"
printf 'published %s\n' "$*" >"$log"
