#!/usr/bin/env bash
# Installs the Debian packages a target needs, and only those missing.
# Usage: tools/deps.sh build|test|bench|fuzz
# Quiet when everything is already present; uses sudo when not root.
set -euo pipefail

build_pkgs=(gcc make meson ninja-build pkg-config libmicrohttpd-dev libjansson-dev
            libsodium-dev libsqlite3-dev libpq-dev libssl-dev libcurl4-openssl-dev zlib1g-dev
            python3 python3-yaml)
test_pkgs=(libcmocka-dev curl nginx-light caddy prometheus chromium nodejs valgrind postgresql
           python3-jwt python3-cryptography apache2 libapache2-mod-oauth2
           python3-aiosmtpd
           postgresql-client
           debhelper lintian dpkg-dev fakeroot)
bench_pkgs=(wrk nginx-light)
deb_pkgs=(debhelper lintian dpkg-dev fakeroot)
fuzz_pkgs=(clang libclang-rt-14-dev)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test)  want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  fuzz)  want+=("${test_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
  valgrind) want+=(valgrind libcmocka-dev) ;;
  deb)   want+=("${deb_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|bench|fuzz|deb" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Debian's nodejs has no npm of its own; some builds of nodejs bring one.
if [ "${1:-build}" != build ] && ! command -v npm >/dev/null 2>&1 &&
   ! dpkg-query -W -f='${Status}' nodejs 2>/dev/null | grep -q nodesource; then
  missing+=(npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing missing packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
if [ "${1:-build}" != build ] && ! command -v npm >/dev/null 2>&1; then
  $sudo apt-get install -y -q --no-install-recommends npm >/dev/null
fi
