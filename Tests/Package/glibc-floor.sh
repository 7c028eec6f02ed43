#!/bin/bash
# Tests/Package/glibc-floor.sh BINARY [FLOOR]
#
# Fails when BINARY needs a glibc symbol version newer than FLOOR (default 2.35, Ubuntu 22.04's
# glibc), or one no release number names: GLIBC_ABI_DT_RELR (packed relocations, glibc 2.36) or
# GLIBC_PRIVATE. dpkg-shlibdeps would not catch the first: the loader refuses such a binary on an
# older glibc although the package's Depends allow it.
set -euo pipefail
bin=${1:?usage: glibc-floor.sh BINARY [FLOOR]}
floor=${2:-2.35}
[ -r "$bin" ] || { echo "glibc-floor: cannot read $bin" >&2; exit 2; }
command -v readelf >/dev/null || { echo "glibc-floor: readelf not installed (binutils)" >&2; exit 2; }
needs=$(readelf -V -W "$bin" | grep -o 'GLIBC_[A-Z0-9_.]*' | sort -u)
[ -n "$needs" ] || { echo "glibc-floor: $bin names no glibc symbol version (not a dynamically linked glibc binary?)" >&2; exit 2; }
bad=()
for v in $needs; do
    n=${v#GLIBC_}
    if [[ $n =~ ^[0-9]+(\.[0-9]+)*$ ]]; then
        [ "$(printf '%s\n%s\n' "$n" "$floor" | sort -V | tail -n1)" = "$floor" ] || bad+=("$v")
    else
        bad+=("$v")
    fi
done
if [ ${#bad[@]} -gt 0 ]; then
    echo "glibc-floor: $bin needs ${bad[*]} (floor: glibc $floor; GLIBC_ABI_DT_RELR means packed relocations, glibc 2.36)"
    exit 1
fi
echo "glibc-floor: $bin needs at most GLIBC_$(printf '%s\n' $needs | sed 's/GLIBC_//' | sort -V | tail -n1) (floor $floor)"
