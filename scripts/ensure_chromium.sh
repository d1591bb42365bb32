#!/usr/bin/env bash
# Give the browser tests their Chromium (Debian's package, /usr/bin/chromium) when we can.
# Never fails the build: where it cannot install, it says so and the browser tests skip
# (under CI=1 they fail instead, so CI never passes without them).
set -u
CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium package for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
    exit 0
  fi
  echo "Could not install chromium: browser tests will be skipped (or fail under CI)."
  exit 0
fi
echo "No $CHROMIUM (install Debian's chromium package as root): browser tests will be skipped."
exit 0
