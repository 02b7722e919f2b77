#!/usr/bin/env bash
# Our own Docker daemon: own data-root, exec-root, socket and cgroup parent, no bridge and no
# iptables rules, so it never touches another dockerd on this machine. Builds need no network
# (wheels come from the wheelhouse), and test containers use --network host on loopback.
# Usage: dockerd.sh start | stop | status
source "$(dirname "$0")/common.sh"
LOG_TAG=dockerd
pidfile="$RUN_DIR/docker.pid"

start() {
  apt_need docker.io
  if pid_alive "$pidfile" && dk version >/dev/null 2>&1; then return 0; fi
  stop_pid "$pidfile"
  rm -f "$DOCKER_SOCK"
  mkdir -p "$RUN_DIR" "$CACHE/docker"
  log "starting dockerd (data-root $CACHE/docker, socket $DOCKER_SOCK)"
  spawn_daemon "$CACHE/dockerd.log" /usr/sbin/dockerd \
    --data-root "$CACHE/docker" --exec-root "$RUN_DIR/docker" --pidfile "$pidfile" \
    -H "unix://$DOCKER_SOCK" --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
    --cgroup-parent=/kserve-py-docker --storage-driver overlay2 --log-level warn
  local i
  for ((i = 0; i < 300; i++)); do
    dk version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -20 "$CACHE/dockerd.log" >&2
  die "dockerd did not answer on $DOCKER_SOCK within 30 s (log: $CACHE/dockerd.log)"
}

stop() {
  stop_pid "$pidfile" 30
  # its managed containerd exits with it; remove what a killed daemon leaves
  rm -f "$DOCKER_SOCK"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) pid_alive "$pidfile" && dk version --format '{{.Server.Version}}' ;;
  *) die "usage: $0 start|stop|status" ;;
esac
