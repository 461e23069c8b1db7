#!/usr/bin/env bash
# Lays out the image's root filesystem from a built binary: the binary, exactly the shared
# libraries `ldd` reports for it (and the dynamic loader), the system CA bundle, and passwd/group
# entries for the non-root user of manifests/deployment.yaml. The Containerfile copies it as is.
#
#   container/stage-rootfs.sh BINARY CONTEXT_DIR
set -euo pipefail

bin=${1:?usage: stage-rootfs.sh BINARY CONTEXT_DIR}
context=${2:?usage: stage-rootfs.sh BINARY CONTEXT_DIR}
# The Deployment's securityContext.runAsUser; the tests check they agree.
uid=65532
ca_bundle=/etc/ssl/certs/ca-certificates.crt

[ -x "$bin" ] || { echo "error: $bin is not an executable" >&2; exit 1; }
[ -r "$ca_bundle" ] || { echo "error: $ca_bundle missing: apt-get install ca-certificates" >&2; exit 1; }

rootfs=$context/rootfs
rm -rf "$rootfs"
# proc, dev, sys: empty mount points, as container runtimes mount them. The statically linked
# Swift runtime reads its command line from /proc/self/cmdline: without /proc it sees no arguments.
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/tmp" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys"
install -m 0755 "$bin" "$rootfs/usr/local/bin/mtls-guard"
# DWARF debug info is a quarter of the binary (120 -> 93 MB); the symbol table stays, so crash
# backtraces still name functions.
if command -v strip >/dev/null; then
  strip --strip-debug "$rootfs/usr/local/bin/mtls-guard"
else
  echo "note: strip (binutils) not found: the image keeps the binary's debug info" >&2
fi

# `ldd` lines: "libssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x...)", the loader as
# "/lib64/ld-linux-x86-64.so.2 (0x...)", and the kernel's vDSO without a path (nothing to copy).
ldd_out=$(ldd "$bin")
if grep -q 'not found' <<<"$ldd_out"; then
  echo "error: $bin has unresolved libraries:" >&2; grep 'not found' <<<"$ldd_out" >&2; exit 1
fi
libs=$(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$ldd_out" | sort -u)
[ -n "$libs" ] || { echo "error: ldd reported no libraries for $bin (static binary?)" >&2; exit 1; }
for lib in $libs; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"   # the file itself, under the name the binary asks for
done
echo "$libs" > "$context/libraries.txt"

cp -L "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%s:%s:mtls-guard:/nonexistent:/sbin/nologin\n' "$uid" "$uid" > "$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:%s:\n' "$uid" > "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
echo "staged $(wc -l < "$context/libraries.txt") libraries from ldd into $rootfs"
