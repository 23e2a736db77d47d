#!/usr/bin/env bash
# Installs the system packages the test suite needs, when missing: Debian's chromium (report test,
# driven by the playwright python package with executable_path=/usr/bin/chromium) and a font, so the
# report screenshot shows text on minimal images installed without recommends; and a Java 17 runtime
# for the Spark portability test (pyspark 4 starts a JVM; issue 23).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing test dependencies: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# PostgreSQL server for the dbt portability parity test (issue 8).
bash "$(dirname "$0")/postgres.sh" install
# Older DuckDB clients (1.1.3, 1.5.6) in cached virtualenvs for the BI compatibility test (issue 17).
python3 "$(dirname "$0")/../tests/bi/old_clients.py"
