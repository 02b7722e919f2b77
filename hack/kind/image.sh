#!/usr/bin/env bash
# `make kind-image`: a kind node image for Kubernetes $KUBERNETES_VERSION, built on this machine
# with no registry, by kind's own builder (`kind build node-image --type file`, kind $KIND_VERSION).
#
#   1. the base image, as kind's images/base/Dockerfile makes it: Debian bookworm (debootstrap) with
#      kind's package list, kind's own files/ (entrypoint, containerd config, kubelet units) taken
#      from the kind module in the Go module cache, kind's RUN steps; containerd v2 + ctr + shim and
#      crictl from the Go module proxy; runc and the CNI plugins (host-local loopback ptp portmap)
#      from Debian. No fuse-overlayfs snapshotter (only used on zfs, fuse or rootless hosts).
#   2. a Kubernetes "release tarball" (kubernetes/version, server/bin/kubeadm kubelet kubectl and
#      the four image archives) from our pinned binaries, whose archives also carry every image
#      kind would otherwise pull: etcd, CoreDNS, pause, the CNI (our kindnet agent, under the name
#      kind's manifest runs) and local-path-provisioner + its helper.
#   3. kind build node-image --type file TARBALL --base-image BASE --image $NODE_IMAGE
#
# Prints the node image's name. Keyed by its inputs: an unchanged build is not redone.
# Usage: image.sh   (`make images` first: the pause and CoreDNS images are taken from it)
source "$(dirname "$0")/../images/common.sh"
LOG_TAG=kind-image
NODE_IMAGE="kserve-py/kind-node:$KUBERNETES_VERSION"
KIND_CACHE="$CACHE/kind"
MIN_FREE_GIB=${KIND_IMAGE_MIN_FREE_GIB:-5}
SUITE=bookworm
# kind's base image packages (images/base/Dockerfile at v0.30.0) + Debian's runc and CNI plugins
BASE_PACKAGES=systemd,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,nfs-common,open-iscsi,bash,ca-certificates,curl,jq,procps,runc,containernetworking-plugins
# the few images that need a shell or the network tools: kube-proxy, kindnet, local-path's helper
NET_PACKAGES=iptables,nftables,conntrack,iproute2
# What kubeadm $KUBERNETES_VERSION and kind's manifests name (kubeadm config images list; kind's
# pkg/build/nodeimage const_cni.go / const_storage.go; pause: kind's containerd sandbox_image).
K8S_REGISTRY=registry.k8s.io
ETCD_TAG=3.6.5-0
COREDNS_TAG=v1.12.1
PAUSE_TAG=3.10
KINDNETD_IMAGE=docker.io/kindest/kindnetd:v20250512-df8de77b
LOCAL_PATH_IMAGE=docker.io/kindest/local-path-provisioner:v20250214-acbabc1a
LOCAL_PATH_HELPER_IMAGE=docker.io/kindest/local-path-helper:v20241212-8ac705d0

tool() { sed -n "s|^$1=||p" <<<"$TOOL_PATHS"; }

# rootfs_image NAME PACKAGES PREPARE_FN: debootstrap minbase + PACKAGES into a directory,
# PREPARE_FN ROOTFS, imported as kserve-py/NAME:KEY (KEY over this script and the inputs hashed
# by the caller in $KEY_EXTRA). Prints the image name.
rootfs_image() {
  local name=$1 packages=$2 prepare=$3 key image rootfs mirror t0
  key=$(printf '%s\n' "$(hash_files "$0")" "$packages" "${KEY_EXTRA:-}" | sha256sum | cut -c1-16)
  image="$IMAGE_REPO/$name:$key"
  if dk image inspect "$image" >/dev/null 2>&1; then echo "$image"; return 0; fi
  rootfs="$KIND_CACHE/rootfs-$name"
  t0=$(date +%s)
  debootstrap_rootfs "$name" "$packages" "$rootfs"
  "$prepare" "$rootfs"
  # what an image never needs (kind's clean-install removes the same)
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/* "$rootfs"/var/cache/debconf/* \
    "$rootfs"/tmp/* "$rootfs"/var/tmp/*
  tar -C "$rootfs" -c . | dk import - "$image.import" >/dev/null
  "${prepare}_config" "$image.import" "$image"
  dk rmi "$image.import" >/dev/null
  rm -rf "$rootfs"
  log "$name: made $image in $(($(date +%s) - t0)) s"
  echo "$image"
}

# debootstrap_rootfs NAME PACKAGES DIR: Debian $SUITE minbase + PACKAGES in DIR, from the mirror apt
# uses; the debootstrapped tree is kept as a tarball keyed by suite and packages, so a change of
# this script does not download the packages again.
debootstrap_rootfs() {
  local name=$1 packages=$2 rootfs=$3 mirror cached
  cached="$KIND_CACHE/debootstrap-$name-$(printf '%s\n' "$SUITE" "$packages" | sha256sum | cut -c1-12).tar"
  rm -rf "$rootfs" && mkdir -p "$rootfs"
  if [ -f "$cached" ]; then
    tar -C "$rootfs" -xf "$cached"
    return 0
  fi
  apt_need debootstrap
  mirror=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | head -1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  log "$name: debootstrap $SUITE (+$packages) from $mirror"
  debootstrap --variant=minbase --include="$packages" "$SUITE" "$rootfs" "$mirror" >"$KIND_CACHE/debootstrap-$name.log" 2>&1 \
    || { tail -20 "$KIND_CACHE/debootstrap-$name.log" >&2; die "$name: debootstrap failed (log: $KIND_CACHE/debootstrap-$name.log)"; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -cf "$cached.tmp" . && mv "$cached.tmp" "$cached"
}

# image_config FROM TO DOCKERFILE_LINES: TO is FROM with the image config of the lines
# (docker import cannot set every instruction, STOPSIGNAL among them).
image_config() {
  local ctx
  ctx=$(mktemp -d)
  printf 'FROM %s\n%s\n' "$1" "$3" >"$ctx/Dockerfile"
  dk build -q --network none -t "$2" "$ctx" >/dev/null
  rm -rf "$ctx"
}

net_prepare() { :; }
net_prepare_config() { image_config "$1" "$2" 'CMD ["/bin/sh"]'; }

# kind's images/base/Dockerfile, step by step, on a debootstrapped rootfs.
base_prepare() {
  local r=$1 files cni bin
  files="$(tool kind-module)/images/base/files"
  [ -d "$files" ] || die "kind's base image files are not in the module cache ($files)"
  # COPY --chmod=0755 files/usr/local/bin/* ; files/kind/ 0644, files/kind/bin/ 0755; files/etc 0644
  install -m 0755 "$files"/usr/local/bin/* "$r/usr/local/bin/"
  cp -r "$files/kind" "$r/kind"
  cp -r "$files/etc/." "$r/etc/"
  chmod -R u+w,go-w "$r/kind" "$r/etc/containerd" "$r/etc/systemd/system" "$r/etc/sysctl.d" "$r/etc/default"
  find "$r/kind" "$r/etc/containerd" "$r/etc/systemd/system" "$r/etc/sysctl.d" "$r/etc/default" "$r/etc/crictl.yaml" \
    -type f -exec chmod 0644 {} +
  chmod 0755 "$r/kind/bin" "$r"/kind/bin/*
  # nodes inherit the host's net.ipv4.ip_forward, which our dockerd (--ip-forward=false) leaves at 0;
  # a Docker that manages iptables sets it to 1. Pods' traffic is forwarded by the node.
  echo 'net.ipv4.ip_forward=1' >"$r/etc/sysctl.d/20-kserve-py-ip-forward.conf"
  # the RUN steps: unwanted units, no kmsg in journald, /sbin/init
  find "$r/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
  rm -f "$r"/lib/systemd/system/multi-user.target.wants/* "$r"/etc/systemd/system/*.wants/* \
    "$r"/lib/systemd/system/local-fs.target.wants/* "$r"/lib/systemd/system/sockets.target.wants/*udev* \
    "$r"/lib/systemd/system/sockets.target.wants/*initctl* "$r"/lib/systemd/system/basic.target.wants/*
  echo "ReadKMsg=no" >>"$r/etc/systemd/journald.conf"
  ln -sf /lib/systemd/systemd "$r/sbin/init"
  chroot "$r" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
  chroot "$r" systemctl mask systemd-binfmt.service >/dev/null 2>&1
  mkdir -p "$r/etc/kubernetes/manifests"
  # containerd v2 + ctr + shim, crictl (Go module proxy); runc is Debian's (/usr/sbin/runc)
  bin=$(tool containerd-bin)
  install -m 0755 "$bin/containerd" "$bin/ctr" "$bin/containerd-shim-runc-v2" "$(tool crictl)" "$r/usr/local/bin/"
  "$bin/ctr" oci spec \
    | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
    | jq 'del(.process.rlimits)' >"$r/etc/containerd/cri-base.json"
  # the CNI plugins kind's base image carries, from Debian's package
  mkdir -p "$r/opt/cni/bin"
  for cni in host-local loopback ptp portmap; do
    [ -x "$r/usr/lib/cni/$cni" ] || die "Debian's containernetworking-plugins has no /usr/lib/cni/$cni"
    cp "$r/usr/lib/cni/$cni" "$r/opt/cni/bin/"
  done
}
base_prepare_config() {
  # kind's final stage: systemd is told it runs in a container, stops on SIGRTMIN+3
  image_config "$1" "$2" 'ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]'
}

# component IMAGE_TAG... : build a small image from a Dockerfile on stdin with the files of $CTX.
component() {
  local tags=() t
  for t in "$@"; do tags+=(-t "$t"); done
  dk build -q --network none "${tags[@]}" -f - "$CTX" >/dev/null
}

# archive OUT IMAGE...: `docker save` of the images, with `repositories` (every repo:tag) as the
# archive's first entry: kind reads an archive's tags from whichever of manifest.json and
# repositories comes first, and from manifest.json it takes the first image's only.
archive() {
  local out=$1
  shift
  dk save -o "$out.tmp" "$@"
  python3 - "$out.tmp" "$out" <<'PY'
import sys, tarfile
src, dst = sys.argv[1:]
with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
    members = tin.getmembers()
    members.sort(key=lambda m: m.name != "repositories")  # stable: the rest keep their order
    for m in members:
        tout.addfile(m, tin.extractfile(m) if m.isfile() else None)
PY
  rm -f "$out.tmp"
}

main() {
  local t0 base net key tarball dir bin stamp="$KIND_CACHE/node-image.key"
  t0=$(date +%s)
  mkdir -p "$KIND_CACHE"
  exec 9>"$KIND_CACHE/.build.lock"
  flock -w 3600 9 || die "another kind image build holds $KIND_CACHE/.build.lock"
  apt_need jq python3
  # the trees, the docker images and kind's build container take about 4 GiB while building
  local free_kib
  free_kib=$(df -Pk "$KIND_CACHE" | awk 'NR == 2 {print $4}')
  [ "$free_kib" -ge $((MIN_FREE_GIB * 1024 * 1024)) ] \
    || die "only $((free_kib / 1024)) MiB free under $KIND_CACHE: the node image build needs $MIN_FREE_GIB GiB"
  bash "$ROOT/hack/tools.sh" kind-node >/dev/null || die "hack/tools.sh kind-node failed"
  bash "$ROOT/hack/tools.sh" cluster >/dev/null || die "hack/tools.sh cluster failed"
  TOOL_PATHS=$(bash "$ROOT/hack/tools.sh" paths)
  "$ROOT/hack/images/dockerd.sh" start 9>&-
  for bin in kind kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd \
    crictl local-path-provisioner kindnet; do
    [ -x "$(tool "$bin")" ] || die "$bin is not built ($(tool "$bin"))"
  done
  for bin in pause coredns; do
    dk image inspect "$REGISTRY_NAME/$IMAGE_REPO/$bin:$IMAGE_TAG" >/dev/null 2>&1 \
      || die "no $REGISTRY_NAME/$IMAGE_REPO/$bin:$IMAGE_TAG: run make images first"
  done

  net=$(KEY_EXTRA= rootfs_image kind-netbase "$NET_PACKAGES" net_prepare)
  KEY_EXTRA=$(sha256sum "$(tool containerd-bin)"/* "$(tool crictl)" | sha256sum; cat "$(tool kind-module)/images/base/Dockerfile" | sha256sum)
  base=$(KEY_EXTRA=$KEY_EXTRA rootfs_image kind-base "$BASE_PACKAGES" base_prepare)

  # the node image's inputs: base, binaries, the images it carries, this script
  key=$(printf '%s\n' "$base" "$net" "$(hash_files "$0")" \
    "$(sha256sum "$(tool kubeadm)" "$(tool kubelet)" "$(tool kubectl)" "$(tool kube-apiserver)" \
      "$(tool kube-controller-manager)" "$(tool kube-scheduler)" "$(tool kube-proxy)" "$(tool etcd)" \
      "$(tool local-path-provisioner)" "$(tool kindnet)" | cut -c1-64)" \
    "$(dk image inspect -f '{{.Id}}' "$REGISTRY_NAME/$IMAGE_REPO/pause:$IMAGE_TAG" "$REGISTRY_NAME/$IMAGE_REPO/coredns:$IMAGE_TAG")" \
    | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" = "$key" ] && dk image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
    log "$NODE_IMAGE: unchanged ($key), not rebuilt"
    echo "$NODE_IMAGE"
    return 0
  fi

  # the images, tagged as kubeadm and kind's manifests name them (and under our own names)
  CTX=$(mktemp -d "$KIND_CACHE/ctx.XXXXXX")
  for bin in kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd local-path-provisioner kindnet; do
    cp "$(tool "$bin")" "$CTX/"
  done
  local cp="COPY --chmod=0755" scratch='FROM scratch
ENV PATH=/usr/local/bin:/usr/bin:/bin'
  for bin in kube-apiserver kube-controller-manager kube-scheduler; do
    printf '%s\n%s %s /usr/local/bin/\n' "$scratch" "$cp" "$bin" | component "$K8S_REGISTRY/$bin:$KUBERNETES_VERSION"
  done
  printf 'FROM %s\n%s kube-proxy /usr/local/bin/\n' "$net" "$cp" | component "$K8S_REGISTRY/kube-proxy:$KUBERNETES_VERSION"
  # our pinned etcd ($ETCD_VERSION) under the tag kubeadm asks for, and under its own
  printf '%s\n%s etcd /usr/local/bin/\n' "$scratch" "$cp" \
    | component "$K8S_REGISTRY/etcd:$ETCD_TAG" "$IMAGE_REPO/etcd:$ETCD_VERSION"
  # our CoreDNS and pause; CoreDNS as root: kubeadm's Deployment adds NET_BIND_SERVICE for port 53,
  # which a non-root user does not get without file capabilities
  printf 'FROM %s\nUSER 0:0\n' "$REGISTRY_NAME/$IMAGE_REPO/coredns:$IMAGE_TAG" \
    | component "$K8S_REGISTRY/coredns/coredns:$COREDNS_TAG"
  dk tag "$REGISTRY_NAME/$IMAGE_REPO/pause:$IMAGE_TAG" "$K8S_REGISTRY/pause:$PAUSE_TAG"
  # kind's default CNI manifest runs $KINDNETD_IMAGE: there, our kindnet agent (hack/kind/kindnet)
  printf 'FROM %s\n%s kindnet /bin/kindnetd\nCMD ["/bin/kindnetd"]\n' "$net" "$cp" \
    | component "$KINDNETD_IMAGE" "$IMAGE_REPO/kindnet:$KUBERNETES_VERSION"
  printf '%s\n%s local-path-provisioner /usr/local/bin/\nENTRYPOINT ["/usr/local/bin/local-path-provisioner"]\n' \
    "$scratch" "$cp" | component "$LOCAL_PATH_IMAGE" "$IMAGE_REPO/local-path-provisioner:$KIND_LOCAL_PATH_PROVISIONER_VERSION"
  printf 'FROM %s\n' "$net" | component "$LOCAL_PATH_HELPER_IMAGE" "$IMAGE_REPO/local-path-helper:$KIND_LOCAL_PATH_PROVISIONER_VERSION"

  # the release tarball's layout (kind's builder_tarball.go)
  dir="$CTX/tarball/kubernetes"
  mkdir -p "$dir/server/bin"
  echo "$KUBERNETES_VERSION" >"$dir/version"
  cp "$(tool kubeadm)" "$(tool kubelet)" "$(tool kubectl)" "$dir/server/bin/"
  archive "$dir/server/bin/kube-apiserver.tar" "$K8S_REGISTRY/kube-apiserver:$KUBERNETES_VERSION" \
    "$K8S_REGISTRY/etcd:$ETCD_TAG" "$K8S_REGISTRY/coredns/coredns:$COREDNS_TAG" "$K8S_REGISTRY/pause:$PAUSE_TAG"
  archive "$dir/server/bin/kube-controller-manager.tar" "$K8S_REGISTRY/kube-controller-manager:$KUBERNETES_VERSION" \
    "$LOCAL_PATH_IMAGE" "$LOCAL_PATH_HELPER_IMAGE"
  archive "$dir/server/bin/kube-scheduler.tar" "$K8S_REGISTRY/kube-scheduler:$KUBERNETES_VERSION"
  archive "$dir/server/bin/kube-proxy.tar" "$K8S_REGISTRY/kube-proxy:$KUBERNETES_VERSION" "$KINDNETD_IMAGE"
  tarball="$CTX/kubernetes-server-linux-amd64.tar.gz"
  tar -C "$CTX/tarball" -czf "$tarball" kubernetes

  log "kind build node-image --type file (kind $KIND_VERSION, base $base)"
  DOCKER_HOST="unix://$DOCKER_SOCK" "$(tool kind)" build node-image --type file "$tarball" \
    --base-image "$base" --image "$NODE_IMAGE" >"$KIND_CACHE/node-image.log" 2>&1 \
    || { tail -25 "$KIND_CACHE/node-image.log" >&2; rm -rf "$CTX"; die "kind build node-image failed (log: $KIND_CACHE/node-image.log)"; }
  rm -rf "$CTX"
  echo "$key" >"$stamp"
  log "$NODE_IMAGE built in $(($(date +%s) - t0)) s ($(dk image inspect -f '{{.Size}}' "$NODE_IMAGE" | numfmt --to=iec))"
  echo "$NODE_IMAGE"
}

case "${1:-}" in
  # the Debian trees only: no dockerd needed (e.g. while another job holds the machine's docker)
  debootstrap)
    mkdir -p "$KIND_CACHE"
    debootstrap_rootfs kind-netbase "$NET_PACKAGES" "$KIND_CACHE/rootfs-kind-netbase"
    debootstrap_rootfs kind-base "$BASE_PACKAGES" "$KIND_CACHE/rootfs-kind-base"
    rm -rf "$KIND_CACHE/rootfs-kind-netbase" "$KIND_CACHE/rootfs-kind-base"
    ;;
  "") main ;;
  *) die "usage: $0 [debootstrap]" ;;
esac
