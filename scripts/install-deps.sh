#!/usr/bin/env bash
# Installs every build, test and run-time dependency of Sluice from Debian 12 packages.
# Idempotent: safe to run again; it only installs what is missing. Must run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libpq-dev libsqlite3-dev sqlite3
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev libcairo2-dev mold
  postgresql-15 postgresql-client-15
  # The dashboard's browser test (docs/dashboard.md): headless, starts no service; about
  # 122 MB to download and 414 MB installed with its libraries on a machine without X.
  chromium
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root (apt-get install needs it)" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# The server package must not start a cluster of its own: tests start their own servers.
mkdir -p /etc/postgresql-common
if [ ! -f /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster = false' /etc/postgresql-common/createcluster.conf; then
  echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
fi
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
