#!/usr/bin/env bash
# Installs what runvoy needs on Debian 12: the build's packages (STYLE.md's authoritative list)
# and, with --test, the services and tools the test suites start themselves.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  build-essential cmake ninja-build pkg-config ccache git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libexpected-dev libssl-dev libsqlite3-dev libpq-dev libyaml-cpp-dev libcli11-dev
  libspdlog-dev libfmt-dev libcurl4-openssl-dev libgit2-dev libarchive-dev
  libseccomp-dev libcap-dev libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  ca-certificates curl procps iproute2 util-linux
)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(chromium python3 git docker-registry busybox-static postgresql docker.io sqlite3)
  # The image ships Node.js 20 with npm; Debian's own is the fallback.
  command -v npm >/dev/null || packages+=(nodejs npm)
fi

apt-get update -qq
# Skip the install step when everything is present already (keeps CI re-runs fast).
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
