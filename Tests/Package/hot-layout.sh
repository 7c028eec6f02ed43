#!/bin/bash
# Tests/Package/hot-layout.sh BINARY LIST [COUNT] [MAX_KIB]
#
# Fails unless the first COUNT (default 200) functions of LIST (packaging/hot-symbols.txt) that
# BINARY defines lie within MAX_KIB (default 1024) KiB of each other: the sampling path laid out
# together, as make build-static links it (each function in its own section, lld ordering them by
# the list). Linked in source order they are spread over ~9 MB; ordered, ~120 KiB. Needs the
# symbol table: BINARY is the build's, not the package's stripped copy.
set -euo pipefail
bin=${1:?usage: hot-layout.sh BINARY LIST [COUNT] [MAX_KIB]}
list=${2:?usage: hot-layout.sh BINARY LIST [COUNT] [MAX_KIB]}
count=${3:-200}
max_kib=${4:-1024}
command -v nm >/dev/null || { echo "hot-layout: nm not installed (binutils)" >&2; exit 2; }
[ -r "$bin" ] && [ -r "$list" ] || { echo "hot-layout: cannot read $bin or $list" >&2; exit 2; }
# The addresses (nm: "ADDRESS TYPE NAME", 16 hex digits, so they sort as text) of the listed names.
addresses=$(nm "$bin" | awk -v count="$count" 'NR == FNR { if (FNR <= count) wanted[$0] = 1; next }
                                                NF == 3 && ($3 in wanted) { print $1 }' "$list" - | sort -u)
found=$(grep -c . <<<"$addresses" || true)
if [ "$found" -lt $((count / 2)) ]; then
    echo "hot-layout: only $found of the first $count listed functions are in $bin (a stale list: run Benchmarks/hot_symbols.sh)"
    exit 1
fi
span_kib=$(( (16#$(tail -n1 <<<"$addresses") - 16#$(head -n1 <<<"$addresses")) / 1024 ))
echo "hot-layout: $found of the first $count listed functions within $span_kib KiB (limit $max_kib)"
[ "$span_kib" -le "$max_kib" ]
