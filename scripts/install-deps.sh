#!/usr/bin/env bash
# Installs what citybooks needs to build, test and run on Debian 12, and only
# what is missing, so it is cheap to run before every build. Needs root (or
# sudo) only when something must be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(
  build-essential cmake ninja-build pkg-config git clang-format time
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
  libsqlite3-dev sqlite3 libssl-dev libcurl4-openssl-dev libcpp-httplib-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libpq-dev postgresql
  openssh-server openssh-client libssh-dev
  awscli chromium wrk
)
# Node.js may come from elsewhere than Debian (its own build bundles npm and
# conflicts with Debian's npm package), so it is checked by command.
command -v node >/dev/null 2>&1 || debian_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || debian_packages+=(npm)

missing=()
for package in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done

if ((${#missing[@]})); then
  echo "install-deps: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Front-end and test-data packages from the npm registry, pinned by
# package-lock.json. Reinstalled only when the lock file changed.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.citybooks-lock; then
  echo "install-deps: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.citybooks-lock
fi
