#!/usr/bin/env bash
# The local image and chart registry: Debian's docker-registry on 127.0.0.1:5000 only, no auth,
# storage outside the clone. The cluster's containerd maps registry.kserve-py.test to it.
# Usage: registry.sh start | stop | status
source "$(dirname "$0")/common.sh"
LOG_TAG=registry
pidfile="$RUN_DIR/registry.pid"
dir="$CACHE/registry"

start() {
  apt_need docker-registry curl
  if pid_alive "$pidfile" && curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; then return 0; fi
  stop_pid "$pidfile"
  if curl -fsSI "http://$REGISTRY_ADDR/v2/" 2>/dev/null | grep -qi '^docker-distribution-api-version'; then
    log "a registry already serves $REGISTRY_ADDR (started by another clone or run dir): using it"
    return 0
  fi
  mkdir -p "$RUN_DIR" "$dir/data"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $dir/data}
  delete: {enabled: true}
http:
  addr: $REGISTRY_ADDR
YAML
  log "starting docker-registry on $REGISTRY_ADDR (data $dir/data)"
  spawn_daemon "$dir/registry.log" /usr/bin/docker-registry serve "$dir/config.yml"
  echo $! >"$pidfile"
  local i
  for ((i = 0; i < 100; i++)); do
    curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "registry did not answer on $REGISTRY_ADDR (log: $dir/registry.log)"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid "$pidfile" ;;
  status) curl -fsS "http://$REGISTRY_ADDR/v2/_catalog" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
