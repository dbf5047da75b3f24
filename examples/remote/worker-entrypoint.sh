#!/bin/sh
# Clones the project (once per container), then runs the worker in the clone.
# Environment: TANUKI_GIT_URL (the shared repository), TANUKI_REDIS_URL, TANUKI_REDIS_PASSWORD,
# TANUKI_PROJECT, and optionally TANUKI_ROLES, TANUKI_CAPACITY, TANUKI_PASS_ENV, TANUKI_TLS_CA.
set -eu
dir="$HOME/project"
if [ ! -d "$dir/.git" ]; then
  git clone --quiet "$TANUKI_GIT_URL" "$dir"
fi
git -C "$dir" config user.name "tanuki worker ${HOSTNAME:-worker}"
git -C "$dir" config user.email "worker@tanuki.invalid"
# exec: SIGTERM from Kubernetes reaches the worker, which ends its sessions before the pod goes.
exec tanuki worker --cwd "$dir" --name "${HOSTNAME:-worker}" \
  --project "$TANUKI_PROJECT" \
  ${TANUKI_ROLES:+--roles "$TANUKI_ROLES"} \
  --capacity "${TANUKI_CAPACITY:-1}" \
  ${TANUKI_PASS_ENV:+--pass-env "$TANUKI_PASS_ENV"} \
  ${TANUKI_TLS_CA:+--tls-ca "$TANUKI_TLS_CA"}
