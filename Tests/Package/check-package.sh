#!/bin/bash
# Tests/Package/check-package.sh DEB TARBALL — what `make test-package` runs after `make deb` and
# `make dist`: lintian, the package's contents and maintainer scripts, the glibc floor of the
# shipped binary, one version everywhere, the tarball and its installer, `make install`'s paths,
# the units and the sysusers file. One line per check, "PASS name" or "FAIL name: detail";
# exits 1 if any failed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DEB=${1:?usage: check-package.sh DEB TARBALL}
TARBALL=${2:?usage: check-package.sh DEB TARBALL}
cd "$REPO"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failed=0

check() {  # check NAME OK(0/1) [DETAIL]
    if [ "$2" = 0 ]; then echo "PASS $1${3:+: $3}"; else echo "FAIL $1${3:+: $3}"; failed=$((failed + 1)); fi
}
ok() { "$@" >/dev/null 2>&1; echo $?; }
roff() { sed 's/-/\\-/g' <<<"$1"; }  # hyphens as the man page writes them

version=$(tr -d ' \n' <VERSION)

# ---- lintian: no errors; every warning overridden with its reason in debian/drum-monitor.lintian-overrides
lintian --fail-on error,warning --display-info --tag-display-limit 0 "$DEB" >"$T/lintian.txt" 2>&1
rc=$?
sed 's/^/    lintian: /' "$T/lintian.txt"
check lintian.no-errors-or-unjustified-warnings $rc "$(grep -c '^[EW]:' "$T/lintian.txt") error/warning lines"

# ---- contents
dpkg-deb -x "$DEB" "$T/root"
dpkg-deb -e "$DEB" "$T/control"
for f in usr/bin/drum-monitor \
    lib/systemd/system/drum-monitor.service lib/systemd/system/drum-monitor.socket \
    lib/systemd/system/drum-monitor-metrics.socket \
    lib/systemd/system/drum-monitor@.service lib/systemd/system/drum-monitor@.socket \
    usr/share/doc/drum-monitor/prometheus/alerts.yml usr/share/doc/drum-monitor/grafana/drum-monitor.json \
    usr/lib/sysusers.d/drum-monitor.conf etc/drum-monitor/drum-monitor.yaml \
    usr/share/man/man8/drum-monitor.8.gz \
    usr/share/bash-completion/completions/drum-monitor usr/share/zsh/vendor-completions/_drum-monitor \
    usr/share/fish/vendor_completions.d/drum-monitor.fish \
    usr/share/doc/drum-monitor/README.md usr/share/doc/drum-monitor/CHANGELOG.md \
    usr/share/doc/drum-monitor/changelog.gz usr/share/doc/drum-monitor/copyright; do
    check "deb.contains /$f" "$(ok test -s "$T/root/$f")"
done
check deb.conffile "$(ok grep -qx /etc/drum-monitor/drum-monitor.yaml "$T/control/conffiles")" "$(tr '\n' ' ' <"$T/control/conffiles" 2>/dev/null)"
check deb.units-run-usr-bin "$(ok grep -q '^ExecStart=/usr/bin/drum-monitor serve' "$T/root/lib/systemd/system/drum-monitor@.service")"
check deb.units-no-usr-local "$(ok bash -c "! grep -rq /usr/local '$T/root/lib/systemd/system'")"
check deb.documentation-link "$(ok grep -q '^Documentation=.*file:///usr/share/doc/drum-monitor/README.md' "$T/root/lib/systemd/system/drum-monitor.service")"
# postinst: the group exists before the units (SocketGroup=drum-monitor) are started.
sysusers_line=$(grep -n 'systemd-sysusers' "$T/control/postinst" | head -n1 | cut -d: -f1)
start_line=$(grep -n 'deb-systemd-invoke' "$T/control/postinst" | head -n1 | cut -d: -f1)
check deb.postinst-group-before-start "$( [ -n "$sysusers_line" ] && [ -n "$start_line" ] && [ "$sysusers_line" -lt "$start_line" ]; echo $?)" \
    "systemd-sysusers at line ${sysusers_line:-none}, first start at line ${start_line:-none}"
# The metrics listener is opt-in: installed, never started, enabled again on upgrade only where
# the administrator had enabled it (dh_installsystemd --no-enable); the query socket is enabled.
check deb.metrics-socket-not-started "$(ok bash -c "! grep -q 'deb-systemd-invoke .*drum-monitor-metrics' '$T/control/postinst'")"
check deb.metrics-socket-enabled-only-if-it-was "$(ok grep -q "if deb-systemd-helper debian-installed 'drum-monitor-metrics.socket'" "$T/control/postinst")"
check deb.query-socket-enabled "$(ok grep -q "enable 'drum-monitor.socket'" "$T/control/postinst")"
check deb.postrm-purge-runtime-dir "$(ok grep -q 'rm -rf /run/drum-monitor' "$T/control/postrm")"

# ---- dependencies and the glibc floor (the binary in the package, and the release build)
depends=$(dpkg-deb -f "$DEB" Depends)
for d in 'libc6 (>= 2.35)' libsystemd0 libyaml-0-2; do
    check "deb.depends $d" "$(ok grep -qF "$d" <<<"$depends")" "$depends"
done
newer=$(grep -o 'libc6 (>= [0-9.]*)' <<<"$depends" | sed 's/.*>= \([0-9.]*\))/\1/' | while read -r v; do
    [ "$(printf '%s\n2.35\n' "$v" | sort -V | tail -n1)" = 2.35 ] || echo "$v"; done)
check deb.depends-no-newer-libc6 "$( [ -z "$newer" ]; echo $?)" "${newer:+needs libc6 >= $newer}"
for bin in "$T/root/usr/bin/drum-monitor" .build-static/release/drum-monitor; do
    out=$("$HERE/glibc-floor.sh" "$bin" 2.35 2>&1)
    check "glibc-floor ${bin#"$T"/root}" $? "$out"
done
# ---- the sampling path's functions laid out together (make build-static's link order)
out=$("$HERE/hot-layout.sh" .build-static/release/drum-monitor packaging/hot-symbols.txt 2>&1)
check hot-layout $? "$out"

# ---- one version: VERSION, debian/changelog, CHANGELOG.md, the package, --version, the man page
deb_version=$(dpkg-deb -f "$DEB" Version)
changelog_version=$(dpkg-parsechangelog -S Version)
md_version=$(sed -n 's/^## \[\([^]]*\)\].*/\1/p' CHANGELOG.md | head -n1)
check version.debian-changelog "$( [ "$changelog_version" = "$version" ]; echo $?)" "VERSION $version, debian/changelog $changelog_version"
check version.changelog-md "$( [ "$md_version" = "$version" ]; echo $?)" "VERSION $version, CHANGELOG.md $md_version"
check version.package "$( [ "$deb_version" = "$version" ]; echo $?)" "package $deb_version"
# The revision of HEAD; "-dirty" aside (it follows edits only once git's index changes).
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
printed=$("$T/root/usr/bin/drum-monitor" --version 2>&1)
[[ $printed =~ ^"$version (git $revision"(-dirty)?")"$ ]]
check version.--version $? "printed '$printed', expected '$version (git $revision[-dirty])'"
zcat "$T/root/usr/share/man/man8/drum-monitor.8.gz" >"$T/man.8"
check version.man-page "$(ok grep -qF "\"$(roff drum-monitor) $version\"" "$T/man.8")" "$(head -n1 "$T/man.8")"

# ---- man page and completions
warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$T/root/usr/share/man/man8/drum-monitor.8.gz" 2>&1 >/dev/null)
check man.no-groff-warnings "$( [ -z "$warnings" ]; echo $?)" "$warnings"
for sub in serve sample query check-config; do
    check "man.documents $sub" "$(ok grep -qxF ".SS \"$(roff "drum-monitor $sub")\"" "$T/man.8")"
done
check completion.bash-syntax "$(ok bash -n "$T/root/usr/share/bash-completion/completions/drum-monitor")"
check completion.bash-defines "$(ok grep -q 'complete .*drum-monitor' "$T/root/usr/share/bash-completion/completions/drum-monitor")"
check completion.zsh "$(ok grep -q '^#compdef drum-monitor' "$T/root/usr/share/zsh/vendor-completions/_drum-monitor")"
check completion.fish "$(ok grep -q "^complete -c 'drum-monitor'" "$T/root/usr/share/fish/vendor_completions.d/drum-monitor.fish")"

# ---- the sysusers file declares the group (applied to an empty root)
mkdir -p "$T/sysroot/etc"
out=$(systemd-sysusers --root="$T/sysroot" "$REPO/systemd/drum-monitor.sysusers" 2>&1)
check sysusers.creates-group "$(ok grep -q '^drum-monitor:x:[0-9]*:' "$T/sysroot/etc/group")" "$out"

# ---- units: the templates are the single-instance units with the instance's paths
"$HERE/check-units.sh" || failed=$((failed + 1))

# ---- make install's paths: units under /usr/local/lib/systemd/system (or /etc), never /lib
make -s install-files DESTDIR="$T/local" PREFIX=/usr/local >/dev/null
check install.usr-local-units "$(ok test -f "$T/local/usr/local/lib/systemd/system/drum-monitor@.service")"
check install.not-lib-systemd "$(ok test ! -e "$T/local/lib/systemd")"
check install.usr-local-sysusers "$(ok test -f "$T/local/usr/local/lib/sysusers.d/drum-monitor.conf")"
check install.unit-runs-usr-local-bin "$(ok grep -q '^ExecStart=/usr/local/bin/drum-monitor serve' "$T/local/usr/local/lib/systemd/system/drum-monitor.service")"
check install.man-page "$(ok test -s "$T/local/usr/local/share/man/man8/drum-monitor.8")"
make -s uninstall DESTDIR="$T/local" PREFIX=/usr/local >/dev/null
left=$(cd "$T/local" && find . -type f | sort | tr '\n' ' ')
check install.uninstall-leaves-only-config "$( [ "$left" = "./etc/drum-monitor/drum-monitor.yaml " ]; echo $?)" "left: $left"
make -s install-files DESTDIR="$T/opt" PREFIX=/opt/drum-monitor >/dev/null
check install.other-prefix-units-in-etc "$(ok test -f "$T/opt/etc/systemd/system/drum-monitor.service")"

# ---- the release tarball and its installer
name=$(basename "$TARBALL" .tar.gz)
tar -C "$T" -xzf "$TARBALL"
for f in install.sh LICENSE README.md CHANGELOG.md root/usr/local/bin/drum-monitor \
    root/usr/local/lib/systemd/system/drum-monitor.service root/usr/local/lib/systemd/system/drum-monitor@.socket \
    root/usr/local/lib/sysusers.d/drum-monitor.conf root/etc/drum-monitor/drum-monitor.yaml \
    root/usr/local/share/man/man8/drum-monitor.8 root/usr/local/share/bash-completion/completions/drum-monitor; do
    check "dist.contains $f" "$(ok test -s "$T/$name/$f")"
done
check dist.owner-root "$(ok bash -c "! tar -tvzf '$TARBALL' | grep -v ' 0/0 '")"
out=$("$T/$name/root/usr/local/bin/drum-monitor" --version 2>&1)
check dist.binary-runs "$( [ "$out" = "$printed" ]; echo $?)" "$out"
DESTDIR="$T/into" "$T/$name/install.sh" >/dev/null
check dist.install.sh "$(ok test -x "$T/into/usr/local/bin/drum-monitor")"
echo "# changed by the operator" >>"$T/into/etc/drum-monitor/drum-monitor.yaml"
DESTDIR="$T/into" "$T/$name/install.sh" >/dev/null
check dist.install.sh-keeps-config "$(ok grep -q 'changed by the operator' "$T/into/etc/drum-monitor/drum-monitor.yaml")"
DESTDIR="$T/into" "$T/$name/install.sh" --uninstall >/dev/null
check dist.uninstall "$(ok test ! -e "$T/into/usr/local/bin/drum-monitor")"

echo "check-package: $failed failed"
[ "$failed" = 0 ]
