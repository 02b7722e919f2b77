#!/usr/bin/env bash
# The base image every Python image starts FROM: Debian bookworm minbase with python3 (3.11, which
# matches the cp311 wheels), made by debootstrap from the Debian mirror apt uses, imported into our
# dockerd. Prints the image name. Keyed by this script, so it is made once per change.
# Usage: base.sh   (dockerd must be running)
source "$(dirname "$0")/common.sh"
LOG_TAG=base
SUITE=bookworm
PACKAGES=python3,python3-venv,libgomp1,ca-certificates
key=$(hash_files "$0")
image="$IMAGE_REPO/base:$key"
if dk image inspect "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi

apt_need debootstrap
mirror=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
  | head -1 | tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}
rootfs="$IMG_CACHE/base-rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs"
log "debootstrap $SUITE ($PACKAGES) from $mirror"
t0=$(date +%s)
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" >"$IMG_CACHE/debootstrap.log" 2>&1 \
  || { tail -20 "$IMG_CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $IMG_CACHE/debootstrap.log)"; }
# the one non-root user every image runs as (uid/gid 1000, as the charts' securityContext says)
chroot "$rootfs" groupadd --gid 1000 kserve
chroot "$rootfs" useradd --uid 1000 --gid 1000 --create-home --home-dir /home/kserve --shell /usr/sbin/nologin kserve
# what an image never needs: package caches, docs, man pages, locales
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
tar -C "$rootfs" -c . | dk import \
  -c 'ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1' -c 'CMD ["/bin/bash"]' - "$image" >/dev/null
rm -rf "$rootfs"
log "made $image in $(($(date +%s) - t0)) s"
echo "$image"
