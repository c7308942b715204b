#!/usr/bin/env bash
# `make install [PREFIX=/usr/local] [DESTDIR=]`: installs a built pfad and what running it as
# a service needs (docs/OPERATIONS.md, "Running PFAD as a service"):
#
#   PREFIX/bin/pfad                      the release binary (build/pfad), its RUNPATH set to
#   PREFIX/lib/pfad/                     the libraries it links that are not the system's
#                                        (Arrow from the pyarrow wheel, librdkafka), copied
#                                        here: the units' ProtectHome=yes hides the build cache
#   PREFIX/lib/systemd/system/pfad-*.service   the units of deploy/systemd, ExecStart and
#                                        Documentation pointing into PREFIX
#   PREFIX/share/pfad/prometheus/        the rules and their tests (deploy/prometheus)
#   PREFIX/share/pfad/airflow/           the Airflow DAG (airflow/dags)
#   PREFIX/share/pfad/pfad.{toml,env}.example   the configuration examples (deploy/)
#   PREFIX/share/doc/pfad/               OPERATIONS.md and CLI.md (the units' Documentation=)
#
# Everything goes under DESTDIR when set (staging, packaging). /etc/pfad is left alone:
# copy the examples there yourself. Usage: scripts/install.sh BINARY PREFIX [DESTDIR]
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PFAD_ROOT"

(($# >= 2)) || { usage; exit 2; }
binary=$1 prefix=$2 destdir=${3:-}
[[ $prefix == /* ]] || die "PREFIX must be an absolute path, not '$prefix'"
[[ -x $binary ]] || die "$binary is not built: run make build first"
command -v patchelf >/dev/null || die "patchelf not found (scripts/setup.sh demo installs it)"

root=$destdir$prefix
bin_dir=$root/bin lib_dir=$root/lib/pfad unit_dir=$root/lib/systemd/system
share_dir=$root/share/pfad doc_dir=$root/share/doc/pfad
install -d "$bin_dir" "$lib_dir" "$unit_dir" "$share_dir/prometheus" "$share_dir/airflow" "$doc_dir"

# The binary, and the libraries it resolves outside the system's directories.
install -m 755 "$binary" "$bin_dir/pfad"
libs=0
while read -r soname path; do
  case $path in
    /lib/* | /lib64/* | /usr/lib/* | /usr/lib64/*) continue ;;
  esac
  install -m 644 "$(realpath "$path")" "$lib_dir/$soname"
  libs=$((libs + 1))
done < <(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }')
# shellcheck disable=SC2016  # $ORIGIN is for the dynamic loader, not the shell
patchelf --set-rpath '$ORIGIN/../lib/pfad' "$bin_dir/pfad"

# Units, pointed at this prefix.
for unit in deploy/systemd/*.service; do
  sed -e "s|/usr/local/bin/pfad|$prefix/bin/pfad|g" \
      -e "s|/usr/local/share/doc/pfad|$prefix/share/doc/pfad|g" "$unit" >"$unit_dir/${unit##*/}.tmp"
  chmod 644 "$unit_dir/${unit##*/}.tmp"
  mv "$unit_dir/${unit##*/}.tmp" "$unit_dir/${unit##*/}"
done

install -m 644 deploy/prometheus/pfad-rules.yml deploy/prometheus/pfad-rules.test.yml "$share_dir/prometheus/"
install -m 644 airflow/dags/clickhouse_pyspark_dashboard.py "$share_dir/airflow/"
install -m 644 deploy/pfad.toml.example deploy/pfad.env.example "$share_dir/"
install -m 644 docs/OPERATIONS.md docs/CLI.md "$doc_dir/"

log "installed pfad ($libs private libraries) into ${destdir:+$destdir}$prefix; units in $unit_dir"
