#!/usr/bin/env bash
# Installs what PFAD needs, idempotently. Caches live outside the work tree
# ($PFAD_CACHE, default ~/.cache/pfad), so a fresh clone reuses them.
#   scripts/setup.sh demo   packages + venv for the embedded demo and the build
#   scripts/setup.sh test   additionally test/bench Python packages and MinIO
#   scripts/setup.sh fuzz   demo plus clang and libFuzzer (make fuzz; test includes them)
set -euo pipefail
source "$(dirname "$0")/common.sh"
mode="${1:-demo}"
case "$mode" in demo|test|fuzz) ;; *) die "usage: setup.sh demo|test|fuzz" ;; esac

# --- Debian packages ------------------------------------------------------
debs=(build-essential cmake ninja-build pkg-config ccache tzdata
      libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libcctz-dev
      libtomlplusplus-dev libgtest-dev libgmock-dev python3-venv)
debs+=(libcurl4-openssl-dev libssl-dev libsqlite3-dev)
# make install: points the installed binary at the private libraries copied beside it
debs+=(patchelf)
# librdkafka is built from source below; these are what it links
debs+=(curl libsasl2-dev zlib1g-dev)
# Spark engine: the Spark Connect client (gRPC + protobuf; protocol from the pyspark wheel)
debs+=(libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler)
# Fraud models: gradient-boosted trees through XGBoost's C API (linked into pfad)
debs+=(libxgboost-dev)
# The fraud GNN (src/pfad/fraud/models/gnn*.cpp): Eigen, header-only.
debs+=(libeigen3-dev)
# Metrics (src/pfad/metrics): prometheus-cpp's core library (registry, text exposition)
debs+=(prometheus-cpp-dev)
[[ $mode == test ]] && debs+=(libbenchmark-dev hyperfine time maven chromium wrk openssl curl)
# scripts/check_repo.sh format (make test): the formatter of the root .clang-format
[[ $mode == test ]] && debs+=(clang-format-19)
# The fuzz targets (tests/fuzz, the fuzz preset): clang and libclang_rt.fuzzer. Bookworm's
# default clang is 14; 19 handles libstdc++ 12's C++20 headers better.
[[ $mode == test || $mode == fuzz ]] && debs+=(clang-19 libclang-rt-19-dev llvm-19)  # llvm-19: llvm-symbolizer
# scripts/check_deploy.sh (make test, make check-rules): promtool for the Prometheus rules
# (Debian's prometheus 2.42 ships it), and the Prometheus of scripts/services/prometheus.sh;
# systemd-analyze, for the units, comes with systemd
[[ $mode == test ]] && debs+=(prometheus systemd)
# The warehouse sink's tests and bench: a real ClickHouse server (Debian ships 18.16)
[[ $mode == test ]] && debs+=(clickhouse-server clickhouse-client)
# One dpkg-query for all of them: one per package took seconds on a loaded machine, and
# this runs before every `make build`.
declare -A status=()
while IFS=$'\t' read -r name state; do status[$name]=$state; done \
  < <(dpkg-query -W -f='${Package}\t${Status}\n' "${debs[@]}" 2>/dev/null || true)
missing=()
for p in "${debs[@]}"; do
  [[ ${status[$p]:-} == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- librdkafka, built from source once (.librdkafka in the work tree links to it) ---
# Debian's librdkafka 2.0.2 cannot log in to Kafka 4 with SCRAM: it sends the client nonce
# twice in its final message (fixed in 2.6.1, confluentinc/librdkafka#4895). The sources
# come from crates.io, where rdkafka-sys ships them unchanged; pinned by checksum.
RDKAFKA_CRATE="4.10.0+2.12.1"
RDKAFKA_CRATE_SHA256="e234cf318915c1059d4921ef7f75616b5219b10b46e9f3a511a15eb4b56a3f77"
rdk_prefix="$PFAD_CACHE/librdkafka-${RDKAFKA_CRATE#*+}-pthread"
if [[ ! -e $rdk_prefix/.complete ]]; then
  log "building librdkafka ${RDKAFKA_CRATE#*+} from source into $rdk_prefix (first time: about a minute)"
  rdk_work=$(mktemp -d "$PFAD_CACHE/librdkafka-build.XXXXXX")
  curl -fsSL --retry 3 -o "$rdk_work/src.tar.gz" \
    "https://static.crates.io/crates/rdkafka-sys/$RDKAFKA_CRATE/download" \
    || die "could not download rdkafka-sys $RDKAFKA_CRATE from crates.io"
  echo "$RDKAFKA_CRATE_SHA256  $rdk_work/src.tar.gz" | sha256sum -c --quiet - \
    || die "rdkafka-sys $RDKAFKA_CRATE: checksum mismatch"
  tar xzf "$rdk_work/src.tar.gz" -C "$rdk_work"
  rm -rf "$rdk_prefix"
  # SASL: SCRAM and OAUTHBEARER over OpenSSL (plus Cyrus for GSSAPI); no curl, zstd or
  # external lz4 (PFAD compresses with snappy, which is built in). Threads through
  # pthread_create, not glibc's C11 thrd_create: GCC 12's ThreadSanitizer does not intercept
  # thrd_create and crashed in every librdkafka thread (make test-tsan).
  { cmake -S "$rdk_work/rdkafka-sys-$RDKAFKA_CRATE/librdkafka" -B "$rdk_work/build" -G Ninja \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX="$rdk_prefix" -DCMAKE_INSTALL_LIBDIR=lib \
      -DRDKAFKA_BUILD_EXAMPLES=OFF -DRDKAFKA_BUILD_TESTS=OFF -DWITH_SSL=ON -DWITH_SASL=ON \
      -DWITH_ZLIB=ON -DWITH_ZSTD=OFF -DWITH_CURL=OFF -DENABLE_LZ4_EXT=OFF -DWITH_C11THREADS=OFF \
    && grep -q '^#define WITH_C11THREADS 0' "$rdk_work/build/generated/config.h" \
    && cmake --build "$rdk_work/build" && cmake --install "$rdk_work/build"; } >"$rdk_work/build.log" 2>&1 \
    || { tail -n 30 "$rdk_work/build.log" >&2; die "building librdkafka failed (log: $rdk_work/build.log)"; }
  touch "$rdk_prefix/.complete"
  rm -rf "$rdk_work"
fi
ln -sfn "$rdk_prefix" "$PFAD_ROOT/.librdkafka"

# --- Python venv (shared cache; .venv in the work tree links to it) --------
venv_mode=$mode
[[ $mode == fuzz ]] && venv_mode=demo
req="$PFAD_ROOT/scripts/requirements-$venv_mode.txt"
stamp="$PFAD_VENV/.pfad-$venv_mode-$(cat "$PFAD_ROOT"/scripts/requirements-*.txt | sha256sum | cut -c1-16)"
if [[ ! -x $PFAD_VENV/bin/python ]]; then
  log "creating venv $PFAD_VENV"
  python3 -m venv "$PFAD_VENV"
fi
if [[ ! -e $stamp ]]; then
  log "installing Python packages from $(basename "$req")"
  "$PFAD_VENV/bin/pip" install -q --disable-pip-version-check -r "$req"
  touch "$stamp"
fi
ln -sfn "$PFAD_VENV" "$PFAD_ROOT/.venv"

# --- Airflow, in a venv of its own (make test only) ---
if [[ $mode == test ]]; then
  af_venv="$PFAD_CACHE/airflow-venv"
  af_stamp="$af_venv/.pfad-$(sha256sum "$PFAD_ROOT/scripts/requirements-airflow.txt" | cut -c1-16)"
  if [[ ! -e $af_stamp ]]; then
    log "installing Airflow into $af_venv (first time: a few minutes)"
    [[ -x $af_venv/bin/python ]] || python3 -m venv "$af_venv"
    "$af_venv/bin/pip" install -q --disable-pip-version-check -r "$PFAD_ROOT/scripts/requirements-airflow.txt"
    touch "$af_stamp"
  fi
fi

# --- Web assets (Chart.js and Cytoscape.js from npm, embedded into the binary at build time) ---
web_stamp="$PFAD_ROOT/web/node_modules/.pfad-$(sha256sum "$PFAD_ROOT/web/package-lock.json" | cut -c1-16)"
if [[ ! -e $web_stamp ]]; then
  command -v npm >/dev/null || die "npm is needed for the dashboard's web assets"
  log "installing web assets with npm ci"
  (cd "$PFAD_ROOT/web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$web_stamp"
fi

# Browser tests: playwright-core drives Debian's chromium (no browser download).
if [[ $mode == test ]]; then
  browser_stamp="$PFAD_ROOT/tests/browser/node_modules/.pfad-$(sha256sum "$PFAD_ROOT/tests/browser/package-lock.json" | cut -c1-16)"
  if [[ ! -e $browser_stamp ]]; then
    log "installing browser-test packages with npm ci"
    (cd "$PFAD_ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$browser_stamp"
  fi
fi

# --- Services built from source --------------------------------------------
if [[ $mode == test ]]; then
  for service in minio kafka registry spark; do "$PFAD_ROOT/scripts/services/$service.sh" install; done
fi
log "setup ($mode) done"
