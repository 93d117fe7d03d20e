#!/usr/bin/env bash
# Install the Debian packages the tests use, where missing:
#   bubblewrap  (bwrap: the OS sandbox for commands the model runs)
#   chromium    (headless browser for browser gates and the variants gallery)
# Prints what it does; exits non-zero if a package is missing and cannot be installed.
set -u
need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing ${need[*]} and no apt-get here; install them with your package manager" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 && sudo="sudo" || {
    echo "system-deps: missing ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2; exit 1; }
fi
echo "system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || {
  $sudo apt-get update -q >/dev/null 2>&1
  $sudo apt-get install -y -q "${need[@]}" >/dev/null || {
    echo "system-deps: could not install ${need[*]}" >&2; exit 1; }
}
