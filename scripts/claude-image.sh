#!/usr/bin/env bash
# Builds tanuki-test-claude:latest: the test image (busybox) plus Claude Code, for running the real
# Claude Code CLI inside a container with the Docker backend. No registry is reachable here, so the
# image is made from what this machine has: Claude Code's native executable from the npm package
# (@anthropic-ai/claude-code, a dev dependency of @tanuki/plugin-agent-process; it needs only glibc,
# not Node), this machine's glibc and bash (Claude Code's Bash tool wants bash).
# Usage: bash scripts/claude-image.sh   (after scripts/docker-setup.sh and `npm run setup`)
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${TANUKI_CLAUDE_IMAGE:-tanuki-test-claude:latest}"
BASE="${TANUKI_TEST_IMAGE:-tanuki-test-busybox:latest}"
say() { printf '[claude-image] %s\n' "$*"; }

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "image $IMAGE already present"
  exit 0
fi
docker image inspect "$BASE" >/dev/null 2>&1 || bash scripts/docker-setup.sh
claude=$(readlink -f packages/plugin-agent-process/node_modules/@anthropic-ai/claude-code/bin/claude.exe)
[ -x "$claude" ] || { say "ERROR: $claude is missing: run \`npm run setup\` first"; exit 1; }

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/rootfs/usr/local/bin" "$context/rootfs/bin"
cp "$claude" "$context/rootfs/usr/local/bin/claude"
cp /bin/bash "$context/rootfs/bin/bash"
# The shared libraries both executables load, at the paths they load them from.
for lib in $( (ldd "$claude"; ldd /bin/bash) | grep -oE '/[^ ]+\.so[^ ]*' | sort -u); do
  mkdir -p "$context/rootfs$(dirname "$lib")"
  cp -L "$lib" "$context/rootfs$lib"
done
cat >"$context/Dockerfile" <<DOCKERFILE
FROM $BASE
COPY rootfs/ /
ENV HOME=/root
DOCKERFILE
say "building $IMAGE from $BASE and $(basename "$claude") ($(du -sh "$context/rootfs" | cut -f1))"
DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$context" >/dev/null 2>"$context/build.log" \
  || { cat "$context/build.log" >&2; exit 1; }
docker run --rm "$IMAGE" claude --version | sed 's/^/[claude-image] claude in the image: /'
