#!/usr/bin/env bash
# Makes a Docker engine reachable and builds the local test image, for the Docker agent tests.
# Idempotent: a running engine and an existing image are left as they are.
#
#   bash scripts/docker-setup.sh
#
# No image registry is reachable where CI runs, so the test image is made here from Debian's
# busybox-static: a root filesystem of /bin/busybox plus its applet links, `docker import`ed.
set -euo pipefail

IMAGE="${TANUKI_TEST_IMAGE:-tanuki-test-busybox:latest}"
LOG=/tmp/dockerd.log
SOCK=/var/run/docker.sock

say() { printf '[docker-setup] %s\n' "$*"; }
die() { say "ERROR: $*"; [ -f "$LOG" ] && { say "last lines of $LOG:"; tail -n 30 "$LOG" >&2; }; exit 1; }

engine_up() { docker info >/dev/null 2>&1; }

# The image has no libc: only a statically linked busybox runs in it.
static_busybox() {
  [ -x "$BUSYBOX" ] || return 1
  case "$(ldd "$BUSYBOX" 2>&1 || true)" in
    *'not a dynamic'* | *'statically linked'*) return 0 ;;
    *) return 1 ;;
  esac
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  say "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_engine() {
  local pid=$1
  for _ in $(seq 1 60); do
    if [ -S "$SOCK" ] && engine_up; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 1
  done
  return 1
}

start_dockerd() {
  # $@: extra flags. Started with setsid so it outlives this script and the shell that ran it.
  say "starting dockerd $* (log: $LOG)"
  setsid dockerd "$@" >>"$LOG" 2>&1 < /dev/null &
  local pid=$!
  if wait_engine "$pid"; then
    say "dockerd is up (pid $pid)"
    return 0
  fi
  say "dockerd $* did not come up"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 10); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  rm -f /var/run/docker.pid
  return 1
}

if engine_up; then
  say "engine already running: $(docker version --format '{{.Server.Version}}' 2>/dev/null)"
else
  if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" = "$DOCKER_HOST" ]; then
    die "DOCKER_HOST=$DOCKER_HOST is not reachable; start that engine or unset DOCKER_HOST"
  fi
  command -v docker >/dev/null 2>&1 && command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  command -v dockerd >/dev/null 2>&1 || die "dockerd is still missing after installing docker.io"
  : >"$LOG"
  # Default flags first; then the fallbacks a sandbox (no overlayfs on overlayfs, no iptables) needs.
  start_dockerd \
    || start_dockerd --iptables=false --ip6tables=false \
    || start_dockerd --iptables=false --ip6tables=false --storage-driver=vfs \
    || die "could not start dockerd"
fi
say "engine: $(docker info --format '{{.ServerVersion}} storage={{.Driver}} cgroup={{.CgroupDriver}}/{{.CgroupVersion}}')"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "image $IMAGE already present"
else
  BUSYBOX=/bin/busybox
  static_busybox || apt_install busybox-static
  static_busybox || die "$BUSYBOX is missing or not statically linked (apt-get install busybox-static)"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,tmp,etc,workspace,root}
  chmod 1777 "$root/tmp"
  cp "$BUSYBOX" "$root/bin/busybox"
  for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  say "importing $IMAGE from busybox ($(ls "$root/bin" | wc -l) applets)"
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["sh"]' - "$IMAGE" >/dev/null
fi
docker run --rm "$IMAGE" sh -c 'test -f /.dockerenv && echo "[docker-setup] image $0 runs: $(busybox | head -n 1)"' "$IMAGE" \
  || die "image $IMAGE does not run"
say "ready"
