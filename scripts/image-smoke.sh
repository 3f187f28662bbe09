#!/usr/bin/env bash
# Build the attune-sync image with podman and check it the way a cluster would use it.
#
#   scripts/image-smoke.sh            # build, then run every check; exit 0 only if all pass
#   scripts/image-smoke.sh --base     # only make the stand-in base image
#
# Works on a fresh Debian machine run as root (it installs podman, runc and mmdebstrap with
# apt-get when they are missing). Docker's daemon cannot run in the sandboxes this project
# is built in, so everything goes through podman, with these workarounds:
#   * the sandbox forbids raising rlimits: default_ulimits keep nofile at `ulimit -Hn` and
#     nproc at 4096 (podman's default is above what runc may set here; found by trying);
#   * no systemd to run healthcheck timers: containers start with --health-interval
#     disable and the checks call `podman healthcheck run` themselves;
#   * crun rejects the cgroup layout: runtime runc;
#   * builds use --network host, --format docker (an OCI image drops HEALTHCHECK) and
#     --pull=never, because no container registry is reachable: python:3.11-slim is a
#     stand-in made locally with mmdebstrap from the Debian mirror apt already uses.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
image="${ATTUNE_SYNC_SMOKE_IMAGE:-localhost/attune-sync:smoke}"
base="docker.io/library/python:3.11-slim"
suite="${ATTUNE_SYNC_SMOKE_SUITE:-bookworm}"   # bookworm ships Python 3.11, like the base
work="$(mktemp -d /tmp/attune-sync-smoke.XXXXXX)"
containers=()

# Without systemd, podman logs an error about healthcheck timers on every run/rm; the checks
# call `podman healthcheck run` themselves, so the message is noise.
podman() { command podman "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }

say() { printf '[smoke %s] %s\n' "$(date +%T)" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

cleanup() {
  for name in "${containers[@]}"; do
    podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

install_tools() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  if ((${#missing[@]})); then
    [[ $(id -u) == 0 ]] || fail "need root to install ${missing[*]} (or install them first)"
    say "installing ${missing[*]} with apt-get"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc mmdebstrap uidmap \
      slirp4netns fuse-overlayfs
  fi
}

configure_podman() {
  local nofile nproc=4096
  nofile="$(ulimit -Hn)"
  [[ $nofile == unlimited ]] && nofile=1048576
  cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  export CONTAINERS_CONF="$work/containers.conf"
}

make_base() {
  if podman image exists "$base"; then
    say "base image $base present"
    return
  fi
  say "making the stand-in base $base with mmdebstrap ($suite, minbase)"
  local mirror
  mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  mmdebstrap --quiet --variant=minbase \
    --include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates \
    "$suite" "$work/base.tar" "$mirror"
  podman import --change 'CMD ["python3"]' "$work/base.tar" "$base" >/dev/null
  rm -f "$work/base.tar"
}

build_image() {
  say "building $image"
  local cert=()
  # pip in the build reaches the index like the host; the CA bundle stays out of the image.
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] &&
    cert=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/host-ca.crt:ro
      --build-arg PIP_CERT=/etc/ssl/certs/host-ca.crt)
  podman build --quiet --network host --format docker --pull=never "${cert[@]}" \
    --build-arg "VERSION=$(git -C "$here" describe --always --dirty 2>/dev/null || echo dev)" \
    --build-arg "REVISION=$(git -C "$here" rev-parse HEAD 2>/dev/null || echo unknown)" \
    -t "$image" "$here" >/dev/null
  say "built $(podman image inspect --format '{{.Id}}' "$image" | cut -c1-12)," \
    "$(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# git-sync's layout: <root>/.worktrees/<commit> checked out, <root>/packs a relative link
# to it, swapped by renaming a new link over the old one, the old worktree then deleted.
publish() { # root commit source
  local root="$1" commit="$2" source="$3"
  mkdir -p "$root/.worktrees"
  cp -r "$source" "$root/.worktrees/$commit"
  ln -s ".worktrees/$commit" "$root/.packs.tmp"
  mv -T "$root/.packs.tmp" "$root/packs"
}

http_get() { # url [bearer token] -> body, fails on a non-2xx
  python3 - "$@" <<'PY'
import sys, urllib.request
request = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 2:
    request.add_header("Authorization", f"Bearer {sys.argv[2]}")
with urllib.request.urlopen(request, timeout=3) as answer:
    sys.stdout.write(answer.read().decode())
PY
}

wait_for() { # seconds description command...
  local seconds="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "$what: not within ${seconds}s"
    sleep 0.5
  done
}

db_count() { # database table [where]
  python3 - "$@" <<'PY'
import sqlite3, sys
db, table = sys.argv[1], sys.argv[2]
where = f" WHERE {sys.argv[3]}" if len(sys.argv) > 3 else ""
print(sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute(f"SELECT count(*) FROM {table}{where}").fetchone()[0])
PY
}

revision_is() { # database commit: the last committed run synced that commit
  [[ $(last_revision "$1" 2>/dev/null) == "$2" ]]
}

last_revision() {
  python3 - "$1" <<'PY'
import sqlite3, sys
row = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute(
    "SELECT revision FROM sync_run WHERE result IN ('applied', 'noop') ORDER BY id DESC LIMIT 1"
).fetchone()
print(row[0] if row else "")
PY
}

check_non_root() {
  local uid
  uid="$(podman run --rm --no-healthcheck --network none --entrypoint id "$image" -u)"
  [[ $uid != 0 ]] || fail "the image runs as root"
  say "ok: runs as uid $uid, not root"
}

check_watch() {
  local root="$work/git" data="$work/data" port name="attune-sync-smoke-watch-$$"
  local first=1111111111111111111111111111111111111111
  local second=2222222222222222222222222222222222222222
  mkdir -p "$data" && chown 10001:10001 "$data"
  publish "$root" "$first" "$here/packs"
  port="$(free_port)"
  containers+=("$name")
  # As in deploy/kubernetes.yaml: read-only root filesystem, the git root mounted read-only.
  podman run -d --health-interval disable --name "$name" --network host --read-only --tmpfs /tmp \
    -v "$root:/git:ro" -v "$data:/data" \
    -e ATTUNE_SYNC_DATABASE_URL=sqlite:////data/sync.db \
    -e "ATTUNE_SYNC_LISTEN=127.0.0.1:$port" \
    -e ATTUNE_SYNC_FULL_SYNC_INTERVAL=2 \
    "$image" >/dev/null
  wait_for 60 "the first sync" revision_is "$data/sync.db" "$first"
  local packs expected
  packs="$(db_count "$data/sync.db" pack)"
  expected="$(find "$here/packs" -mindepth 2 -maxdepth 2 -name pack.yaml | wc -l)"
  [[ $packs == "$expected" ]] || fail "synced $packs packs, the bundled tree has $expected"
  say "ok: synced the $packs bundled packs from a read-only mount (revision ${first:0:8})"

  wait_for 30 "healthcheck" podman healthcheck run "$name"
  http_get "http://127.0.0.1:$port/readyz" >/dev/null || fail "/readyz is not 200"
  say "ok: healthy (podman healthcheck run), /readyz 200"

  # The next commit adds a trigger; git-sync swaps the link and deletes the old worktree.
  cp -r "$here/packs" "$work/next"
  cat >"$work/next/core/triggers/smoke.yaml" <<YAML
label: Smoke test trigger
description: Added by the second commit
YAML
  publish "$root" "$second" "$work/next"
  rm -rf "${root:?}/.worktrees/$first"
  wait_for 30 "following the link swap" revision_is "$data/sync.db" "$second"
  [[ $(db_count "$data/sync.db" trigger "ref = 'core.smoke'") == 1 ]] ||
    fail "core.smoke was not created after the swap"
  say "ok: followed a git-sync link swap to ${second:0:8} (core.smoke created)"

  stop_within_2s "$name"
}

stop_within_2s() {
  local name="$1" started code elapsed
  started="$(date +%s.%N)"
  podman kill --signal TERM "$name" >/dev/null
  code="$(podman wait "$name")"
  elapsed="$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" \
    "$started" "$(date +%s.%N)")"
  [[ $code == 0 ]] || fail "exit code $code after SIGTERM (logs: $(podman logs --tail 5 "$name" 2>&1))"
  python3 -c "import sys; sys.exit(float(sys.argv[1]) > 2.0)" "$elapsed" ||
    fail "took ${elapsed}s to stop after SIGTERM"
  say "ok: stopped ${elapsed}s after SIGTERM, exit code 0"
}

check_health_listen_off() {
  local name="attune-sync-smoke-off-$$" data="$work/data-off"
  mkdir -p "$data" && chown 10001:10001 "$data"
  containers+=("$name")
  podman run -d --health-interval disable --name "$name" --network none --read-only --tmpfs /tmp \
    -v "$here/packs:/git/packs:ro" -v "$data:/data" \
    -e ATTUNE_SYNC_DATABASE_URL=sqlite:////data/sync.db -e ATTUNE_SYNC_LISTEN=off \
    "$image" >/dev/null
  wait_for 30 "healthcheck with ATTUNE_SYNC_LISTEN=off" podman healthcheck run "$name"
  say "ok: healthy with ATTUNE_SYNC_LISTEN=off"
  local name2="attune-sync-smoke-flag-$$" port
  port="$(free_port)"
  containers+=("$name2")
  podman run -d --health-interval disable --name "$name2" --network host --read-only --tmpfs /tmp \
    -v "$here/packs:/git/packs:ro" -v "$data:/data" \
    -e ATTUNE_SYNC_DATABASE_URL=sqlite:////data/sync.db \
    "$image" watch --listen "127.0.0.1:$port" >/dev/null
  wait_for 30 "healthcheck with --listen 127.0.0.1:$port" podman healthcheck run "$name2"
  say "ok: healthy with the address given as --listen 127.0.0.1:$port"
  podman rm -f -t 0 "$name" "$name2" >/dev/null

  # And it can fail: a container whose PID 1 is not attune-sync and serves no probe.
  local name3="attune-sync-smoke-dead-$$"
  containers+=("$name3")
  podman run -d --health-interval disable --name "$name3" --network none --entrypoint sleep \
    "$image" 60 >/dev/null
  for listen in off 127.0.0.1:9; do
    if podman exec -e "ATTUNE_SYNC_LISTEN=$listen" "$name3" python -m attune_sync.healthcheck \
      >/dev/null 2>&1; then
      fail "the healthcheck passed without a live attune-sync (ATTUNE_SYNC_LISTEN=$listen)"
    fi
  done
  podman healthcheck run "$name3" >/dev/null 2>&1 && fail "podman healthcheck run passed on sleep"
  say "ok: unhealthy when PID 1 is not a live attune-sync (listen off, and nothing listening)"
  podman rm -f -t 0 "$name3" >/dev/null
}

check_api() {
  if ! podman run --rm --no-healthcheck --network none "$image" serve --help >/dev/null 2>&1; then
    say "SKIP: the API check: this image's attune-sync has no 'serve' command yet"
    return
  fi
  local name="attune-sync-smoke-api-$$" data="$work/data-api" port token=smoke-token
  mkdir -p "$data" && chown 10001:10001 "$data"
  port="$(free_port)"
  containers+=("$name")
  podman run -d --health-interval disable --name "$name" --network host --read-only \
    --tmpfs /tmp -v "$data:/data" -v "$here/packs:/git/packs:ro" \
    -e ATTUNE_SYNC_DATABASE_URL=sqlite:////data/sync.db \
    -e "ATTUNE_SYNC_API_LISTEN=127.0.0.1:$port" -e "ATTUNE_SYNC_API_TOKENS=$token" \
    "$image" serve >/dev/null
  wait_for 30 "the API answering on 127.0.0.1:$port" http_get "http://127.0.0.1:$port/healthz"
  http_get "http://127.0.0.1:$port/api/v1/packs" "$token" >/dev/null ||
    fail "GET /api/v1/packs with a token failed"
  podman healthcheck run "$name" >/dev/null || fail "healthcheck of 'serve' failed"
  say "ok: 'attune-sync serve' answers /healthz and GET /api/v1/packs on 127.0.0.1:$port; healthy"
  stop_within_2s "$name"
}

install_tools
configure_podman
make_base
[[ ${1:-} == --base ]] && exit 0
say "podman $(podman --version | awk '{print $3}'), runtime $(podman info --format '{{.Host.OCIRuntime.Name}}')"
build_image
check_non_root
check_watch
check_health_listen_off
check_api
say "all checks passed"
