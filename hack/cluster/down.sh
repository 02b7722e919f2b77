#!/usr/bin/env bash
# `make cluster-down`: remove everything hack/cluster/up.sh made — processes, pod containers,
# mounts, network namespaces, the bridge and dummy link, iptables chains, cgroups, state dirs —
# whether the cluster stopped cleanly or was killed. Pulled images stay in the cache
# ($CL_IMAGES). `down.sh check` exits 1 and names whatever is left.
source "$(dirname "$0")/env.sh"

pod_netns() {  # network namespaces holding one of our pod addresses
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^cni-' || true); do
    if ip -n "$ns" -4 -o addr 2>/dev/null | grep -q " ${POD_CIDR%.*}\."; then echo "$ns"; fi
  done
}

our_mounts() {  # mount points under our dirs, deepest first
  findmnt -rn -o TARGET | grep -E "^($CL_STATE|$CL_RUN|$CL_IMAGES)(/|$)" | sort -r || true
}

pod_cgroups() {  # the kubelet's pod cgroup trees in every v1 hierarchy
  find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/unified/kubepods -maxdepth 0 -type d 2>/dev/null || true
}

kill_pods() {  # every process in a pod cgroup, then the runc shims of our containerd
  local dir pid
  for dir in $(pod_cgroups); do
    find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do
      kill -9 "$pid" 2>/dev/null || true
    done || true
  done
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CTR_SOCK" || true); do
    kill -9 "$pid" 2>/dev/null || true
  done
}

remove_cgroups() {
  local dir
  for dir in $(pod_cgroups); do
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

iptables_cleanup() {
  local table chain rule
  if [ -x "$(tool_path kube-proxy 2>/dev/null)" ]; then
    "$(tool_path kube-proxy)" --cleanup >/dev/null 2>&1 || true
  fi
  for table in nat filter mangle; do
    # rules in built-in chains that jump to KUBE-* or to our CNI network's chains
    iptables -t "$table" -S 2>/dev/null | grep -E '^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ' \
      | grep -E -- "-j KUBE-|$CNI_NETWORK" | while read -r rule; do
        eval "iptables -t $table ${rule/-A /-D }" 2>/dev/null || true
      done || true
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '/^-N KUBE-/ {print $2}'); do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '/^-N KUBE-/ {print $2}'); do
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
  # CNI-<hash> chains the bridge plugin made for our pods (their rules carry our network's name)
  for chain in $(iptables -t nat -S 2>/dev/null | grep -- "$CNI_NETWORK" | awk '$1 == "-A" && $2 ~ /^CNI-[0-9a-f]+$/ {print $2}' | sort -u); do
    iptables -t nat -F "$chain" 2>/dev/null || true
    iptables -t nat -X "$chain" 2>/dev/null || true
  done
}

stop_components() {  # TERM all at once, then KILL what is left after 10 s
  local c pids=() i p alive
  for c in "${COMPONENTS[@]}"; do
    pid_alive "$CL_RUN/$c.pid" && pids+=("$(cat "$CL_RUN/$c.pid")")
  done
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 1 ] || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for c in "${COMPONENTS[@]}"; do rm -f "$CL_RUN/$c.pid"; done
}

down() {
  local ns m
  stop_components
  kill_pods
  for ns in $(pod_netns); do ip netns delete "$ns" 2>/dev/null || true; done
  for m in $(our_mounts); do umount -l "$m" 2>/dev/null || true; done
  remove_cgroups
  ip link delete "$BRIDGE" 2>/dev/null || true
  ip link delete "$NODE_LINK" 2>/dev/null || true
  iptables_cleanup
  rm -rf "$CL_STATE" "$CL_RUN"
}

check() {  # name whatever down left behind; exit 1 if anything
  local left=() c
  for c in "${COMPONENTS[@]}"; do [ ! -f "$CL_RUN/$c.pid" ] || left+=("pid file $c"); done
  pgrep -f "$CL_STATE|$CL_RUN" >/dev/null && left+=("processes: $(pgrep -af "$CL_STATE|$CL_RUN" | head -3 | tr '\n' ';')")
  [ -z "$(our_mounts)" ] || left+=("mounts: $(our_mounts | head -3 | tr '\n' ' ')")
  [ -z "$(pod_netns)" ] || left+=("netns: $(pod_netns | tr '\n' ' ')")
  [ -z "$(pod_cgroups)" ] || left+=("cgroups: $(pod_cgroups | head -2 | tr '\n' ' ')")
  ! ip link show "$BRIDGE" >/dev/null 2>&1 || left+=("link $BRIDGE")
  ! ip link show "$NODE_LINK" >/dev/null 2>&1 || left+=("link $NODE_LINK")
  iptables-save 2>/dev/null | grep -qE ':KUBE-|kserve-py' && left+=("iptables: $(iptables-save | grep -cE ':KUBE-|kserve-py') KUBE-*/kserve-py lines")
  [ ! -e "$CL_STATE" ] || left+=("dir $CL_STATE")
  [ ! -e "$CL_RUN" ] || left+=("dir $CL_RUN")
  if [ ${#left[@]} -gt 0 ]; then
    printf 'left behind: %s\n' "${left[@]}" >&2
    return 1
  fi
  echo "nothing left behind"
}

case "${1:-down}" in
  down) down; log "down: done" ;;
  check) check ;;
  *) die "usage: $0 [down|check]" ;;
esac
