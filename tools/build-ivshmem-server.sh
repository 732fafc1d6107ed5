#!/bin/bash
# Builds QEMU 7.2's ivshmem-server and ivshmem-client (the reference implementation famez is
# compared with and tested against) from Debian's source package, into a cache outside git.
# Prints the directory holding both binaries. Debian ships neither program.
set -euo pipefail

cache=${FAMEZ_REF_CACHE:-/var/cache/famez-ref}
out=$cache/bin
if [ -x "$out/ivshmem-server" ] && [ -x "$out/ivshmem-client" ]; then
	echo "$out"
	exit 0
fi

need=()
for pkg in dpkg-dev libglib2.0-dev ninja-build pkg-config gcc python3 flex bison; do
	dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A deb-src list made from the machine's own binary sources, used for this download only.
srclist=$work/sources.list
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$work/debian-src.sources"
	mkdir -p "$work/sources.list.d" && mv "$work/debian-src.sources" "$work/sources.list.d/"
	: >"$srclist"
else
	sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$srclist"
	mkdir -p "$work/sources.list.d"
fi
mkdir -p "$work/lists/partial"
apt_opts=(-o "Dir::Etc::SourceList=$srclist" -o "Dir::Etc::SourceParts=$work/sources.list.d"
	-o "Dir::State::Lists=$work/lists")
apt-get "${apt_opts[@]}" update -qq >&2
(cd "$work" && apt-get "${apt_opts[@]}" source -qq qemu >&2)
src=$(find "$work" -maxdepth 1 -type d -name 'qemu-*' | head -1)

mkdir -p "$src/build"
(cd "$src/build" && ../configure --target-list= --enable-tools --disable-system --disable-user \
	--disable-docs --disable-install-blobs >&2 &&
	ninja contrib/ivshmem-server/ivshmem-server contrib/ivshmem-client/ivshmem-client >&2)
mkdir -p "$out"
cp "$src/build/contrib/ivshmem-server/ivshmem-server" "$src/build/contrib/ivshmem-client/ivshmem-client" "$out/"
echo "$out"
