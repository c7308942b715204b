#!/usr/bin/env bash
# Security checks that `make test` runs (scripts/test.sh); each fails with the places it found.
#
#   scripts/check_security.sh credentials [DIR]
#       Scans the files git tracks in DIR (default: the repository) for committed
#       credentials: private keys (PEM "BEGIN … PRIVATE KEY", and key/keystore files by
#       name: *.pem, *.key, *.p12, *.pfx, *.jks, id_rsa…, .env), AWS access key ids
#       (AKIA…/ASIA…), AWS secret keys assigned in text, a password, secret, token or
#       key name assigned a quoted literal of 8 or more characters, and URLs with a
#       user:password@ part. Placeholders pass: "…", "...", <…>, ${VAR} / $VAR, values
#       the code builds at run time, and lines marked "pfad:not-a-secret". Values are never printed, only file:line
#       and the kind of finding.
#   scripts/check_security.sh listeners
#       Every TCP socket listening in a process of a service running from $PFAD_RUN
#       (each <service>/*.pid file whose process is alive, and that process's
#       descendants) must be bound to loopback (127.0.0.0/8 or ::1). Fails when no
#       service is running, as there would be nothing to check.
set -euo pipefail
source "$(dirname "$0")/common.sh"

# --- credentials ---------------------------------------------------------------

# Extended regular expressions (grep -E, case-insensitive where marked) and what they find.
PRIVATE_KEY='-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----'
AWS_KEY_ID='(^|[^A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}([^A-Z0-9]|$)'
AWS_SECRET='aws_?secret_?access_?key["'"'"']?[[:space:]]*[:=][[:space:]]*["'"'"']?[A-Za-z0-9/+]{40}'  # pfad:not-a-secret (a pattern)
# name = "literal" / name: 'literal' / NAME=literal (shell, env, properties).
SECRET_NAME='(password|passwd|secret|token|api_?key|access_?key|secret_?key|private_?key|credentials?)'
ASSIGNED_LITERAL="[A-Za-z0-9_.-]*${SECRET_NAME}[\"']?[[:space:]]*[:=][[:space:]]*[\"'][^\"'[:space:]]{8,}[\"']"
ENV_LITERAL="^[[:space:]]*(export[[:space:]]+)?[A-Z0-9_]*(PASSWORD|SECRET|TOKEN|ACCESS_KEY|SECRET_KEY)[A-Z0-9_]*=[^\$\"'[:space:]][^[:space:]]{7,}"
URL_PASSWORD='[a-z][a-z0-9+.-]*://[^/[:space:]:@"'"'"']+:[^/[:space:]:@"'"'"'$<{]{3,}@'  # pfad:not-a-secret (a pattern)
# Values that are placeholders, not secrets; and lines marked "pfad:not-a-secret" (a
# deliberately wrong password in a test, say).
PLACEHOLDER='…|\.\.\.|<[^>]*>|\$\{|\$[A-Z_]|changeme|example|placeholder|your[_-]|pfad:not-a-secret'
KEY_FILE_NAME='(\.(pem|key|p12|pfx|jks|keystore)$|(^|/)id_(rsa|dsa|ecdsa|ed25519)$|(^|/)\.env$)'

check_credentials() {
  local dir=${1:-$PFAD_ROOT} found=0 file kind
  git -C "$dir" rev-parse --is-inside-work-tree >/dev/null 2>&1 || die "$dir is not a git work tree"
  local -a files
  mapfile -d '' -t files < <(git -C "$dir" ls-files -z)
  ((${#files[@]} > 0)) || die "git tracks no files in $dir: nothing to check"
  for file in "${files[@]}"; do
    if [[ $file =~ $KEY_FILE_NAME ]]; then
      printf 'committed credential: %s: a key or keystore file\n' "$file" >&2
      found=1
    fi
  done
  # report KIND GREP-ARGS…: file:line of each match in tracked text files (not the value).
  report() {
    kind=$1; shift
    local hits
    hits=$(cd "$dir" && printf '%s\0' "${files[@]}" | xargs -0 -r grep -I -n -H "$@" -- 2>/dev/null |
           grep -v -E "$PLACEHOLDER" | cut -d: -f1,2 || true)
    if [[ -n $hits ]]; then
      while IFS= read -r hit; do printf 'committed credential: %s: %s\n' "$hit" "$kind" >&2; done <<<"$hits"
      found=1
    fi
  }
  report "a private key" -E -e "$PRIVATE_KEY"
  report "an AWS access key id" -E -e "$AWS_KEY_ID"
  report "an AWS secret access key" -i -E -e "$AWS_SECRET"
  report "a secret assigned a literal value" -i -E -e "$ASSIGNED_LITERAL"
  report "a secret assigned a literal value" -E -e "$ENV_LITERAL"
  report "a URL with a password" -i -E -e "$URL_PASSWORD"
  if ((found)); then
    echo "credentials check: FAILED — move these secrets to the environment or an untracked config file" >&2
    return 1
  fi
  log "credentials check: no credentials in the ${#files[@]} files git tracks in $dir"
}

# --- listeners -----------------------------------------------------------------

# descendants PID: PID and every process below it.
descendants() {
  local pid=$1 child
  echo "$pid"
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do descendants "$child"; done
}

# is_loopback ADDRESS: 127.0.0.0/8 or ::1 (ss prints [::1], [::ffff:127.x.y.z]).
is_loopback() {
  local a=${1#[}
  a=${a%]}
  [[ $a == 127.* || $a == ::1 || $a == ::ffff:127.* ]]
}

check_listeners() {
  local pidfile pid service checked=0 bad=0 listening line address
  local -A service_of=()
  shopt -s nullglob
  for pidfile in "$PFAD_RUN"/*/*.pid; do
    pid=$(pid_alive "$pidfile") || continue
    service="$(basename "$(dirname "$pidfile")")/$(basename "$pidfile" .pid)"
    for p in $(descendants "$pid"); do service_of[$p]=$service; done
  done
  ((${#service_of[@]} > 0)) || die "listeners check: no service is running from $PFAD_RUN: nothing to check"
  listening=$(ss -ltnpH)
  while IFS= read -r line; do
    [[ -n $line ]] || continue
    # State Recv-Q Send-Q Local:Port Peer:Port Process
    read -r _ _ _ address _ <<<"$line"
    address=${address%:*}
    for pid in $(grep -o 'pid=[0-9]*' <<<"$line" | cut -d= -f2); do
      service=${service_of[$pid]:-}
      [[ -n $service ]] || continue
      checked=$((checked + 1))
      if ! is_loopback "$address"; then
        printf 'listeners check: %s (pid %s) listens on %s, not loopback\n' "$service" "$pid" "${line##* }" >&2
        printf '  socket: %s\n' "$(awk '{print $4}' <<<"$line")" >&2
        bad=1
      fi
    done
  done <<<"$listening"
  ((checked > 0)) || die "listeners check: the running services (${service_of[*]}) listen on nothing ss can see"
  if ((bad)); then
    echo "listeners check: FAILED — bind these services to 127.0.0.1 (or ::1)" >&2
    return 1
  fi
  log "listeners check: all $checked listening sockets of the services in $PFAD_RUN are on loopback"
}

case "${1:-}" in
  credentials) check_credentials "${2:-}" ;;
  listeners) check_listeners ;;
  *) usage; exit 2 ;;
esac
