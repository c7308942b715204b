#!/usr/bin/env bash
# Repository checks that `make test` runs (scripts/test.sh); each fails with the places it found.
#
#   scripts/check_repo.sh links [DIR]
#       The files git tracks in DIR (default: the repository) stay inside it: no markdown
#       link or image whose relative target resolves outside the repository root or to a
#       file git does not track there (a missing page, a typo), none with an absolute
#       path; no mention of the shared folder beside the repository ("..", "/shared");
#       no absolute path into the machine (under /work, /root or /home) in tracked text; no
#       C/C++ #include whose path is absolute or climbs out of the repository; no CMake
#       include() or add_subdirectory() outside it. Lines marked "pfad:not-a-path" pass
#       (the selftest's plants). Prints file:line and the offending reference.
#   scripts/check_repo.sh layout [DIR]
#       Every directory under src/ (recursively, e.g. src/pfad/fraud/graph) is named in
#       README.md as the literal text `src/<path>/` (backticks, trailing slash).
#   scripts/check_repo.sh format [--fix] [DIR]
#       clang-format-19 --dry-run -Werror on every tracked *.cpp and *.h file (the root
#       .clang-format); --fix rewrites them in place instead. CLANG_FORMAT overrides the
#       binary; scripts/setup.sh test installs it.
#   scripts/check_repo.sh selftest
#       Proves the checks can fail: builds a small clean git tree in a temporary
#       directory, asserts every mode passes on it, then plants one fault per copy (a
#       markdown link into the shared folder, a link to a missing page, a machine path,
#       an #include and an add_subdirectory() climbing out, a src/ folder the README does
#       not name, a badly formatted C++ file) and asserts the right mode fails naming
#       file:line, and that `format --fix` repairs the formatting.
set -euo pipefail
source "$(dirname "$0")/common.sh"

CLANG_FORMAT=${CLANG_FORMAT:-clang-format-19}
MARKER='pfad:not-a-path'
# The folder beside the repository that held the design before docs/DESIGN.md.
SHARED_DIR='\.\./shared'
# An absolute path into this machine (under /work, /root or /home), not inside a word or a URL path.
MACHINE_PATH='(^|[^A-Za-z0-9_.~-])/(work|root|home)/'

# repo_root DIR: the top of the git work tree holding DIR.
repo_root() {
  local dir=$1
  git -C "$dir" rev-parse --is-inside-work-tree >/dev/null 2>&1 || die "$dir is not a git work tree"
  git -C "$dir" rev-parse --show-toplevel
}

# tracked_files ROOT [PATHSPEC…]: the tracked files that exist, NUL-separated.
tracked_files() {
  local root=$1 f; shift
  while IFS= read -r -d '' f; do
    [[ -f $root/$f ]] && printf '%s\0' "$f"
  done < <(git -C "$root" ls-files -z -- "$@")
}

# inside ROOT FILE TARGET: prints TARGET (relative to FILE's directory) relative to ROOT,
# normalised; fails when it climbs out of ROOT.
inside() {
  local root=$1 file=$2 target=$3 rel
  rel=$(realpath -m --relative-to="$root" "$root/$(dirname "$file")/$target")
  [[ $rel != .. && $rel != ../* ]] || return 1
  printf '%s\n' "$rel"
}

# --- links ---------------------------------------------------------------------

# markdown_targets FILE: "line<TAB>target" of each inline link or image and each reference
# definition outside fenced code blocks and marked lines, inline code spans removed.
markdown_targets() {
  awk -v marker="$MARKER" '
    /^[[:space:]]*(```|~~~)/ { fence = !fence; next }
    fence || index($0, marker) { next }
    {
      line = $0
      gsub(/`[^`]*`/, "", line)
      if (match(line, /^[[:space:]]*\[[^]]+\]:[[:space:]]*[^[:space:]]+/)) {
        def = substr(line, RSTART, RLENGTH)
        sub(/^[[:space:]]*\[[^]]+\]:[[:space:]]*/, "", def)
        print NR "\t" def
      }
      while (match(line, /\]\([^)[:space:]]+/)) {
        print NR "\t" substr(line, RSTART + 2, RLENGTH - 2)
        line = substr(line, RSTART + RLENGTH)
      }
    }' "$1"
}

check_links() {
  local root found=0 links=0 includes=0 file lineno target written rel text
  root=$(repo_root "${1:-$PFAD_ROOT}")
  local -a files
  mapfile -d '' -t files < <(tracked_files "$root")
  ((${#files[@]} > 0)) || die "git tracks no files in $root: nothing to check"
  # What a link may point at: every tracked file and every folder holding one.
  local -A present=()
  for file in "${files[@]}"; do
    present[$file]=1
    rel=$file
    while [[ $rel == */* ]]; do rel=${rel%/*}; present[$rel]=1; done
  done
  bad() {  # bad FILE LINE WHAT REFERENCE
    printf 'links check: %s:%s: %s: %s\n' "$1" "$2" "$3" "$4" >&2
    found=1
  }

  # Markdown links and images.
  for file in "${files[@]}"; do
    [[ $file == *.md ]] || continue
    while IFS=$'\t' read -r lineno target; do
      links=$((links + 1))
      target=${target%%#*}
      target=${target%%\?*}
      [[ -n $target ]] || continue                       # an anchor on the same page
      [[ $target =~ ^[A-Za-z][A-Za-z0-9+.-]*: ]] && continue  # http:, https:, mailto:
      if [[ $target == /* ]]; then
        bad "$file" "$lineno" "link with an absolute path" "$target"
      elif ! rel=$(inside "$root" "$file" "$target"); then
        bad "$file" "$lineno" "link leaves the repository" "$target"
      elif [[ $rel != . && -z ${present[$rel]:-} ]]; then
        bad "$file" "$lineno" "link to a file the repository does not hold" "$target"
      fi
    done < <(markdown_targets "$root/$file")
  done

  # The shared folder and machine paths, in any tracked text.
  scan() {  # scan WHAT REGEX
    local hits hit
    hits=$(cd "$root" && printf '%s\0' "${files[@]}" | xargs -0 -r grep -I -n -H -E -e "$2" -- 2>/dev/null |
           grep -v -F "$MARKER" || true)
    [[ -n $hits ]] || return 0
    while IFS= read -r hit; do
      text=$(cut -d: -f3- <<<"$hit")
      bad "$(cut -d: -f1 <<<"$hit")" "$(cut -d: -f2 <<<"$hit")" "$1" \
        "$(grep -o -E -e "$2[^[:space:]\"'\`)>]*" <<<"$text" | head -1 | sed -E 's|^[^./]+||')"
    done <<<"$hits"
  }
  scan "reference to the shared folder outside the repository" "$SHARED_DIR"
  scan "absolute path into the machine" "$MACHINE_PATH"

  # C/C++ includes: only an absolute path or one with ".." can leave the repository.
  local include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]*)[>"]' hits hit
  local -a sources=()
  for file in "${files[@]}"; do
    [[ $file =~ \.(c|cc|cpp|cxx|h|hh|hpp|inc|in)$ ]] && sources+=("$file")
  done
  hits=$(cd "$root" && printf '%s\0' "${sources[@]}" | xargs -0 -r grep -n -H -E -e "$include_re" -- || true)
  includes=$(grep -c . <<<"$hits" || true)
  while IFS= read -r hit; do
    [[ -n $hit ]] || continue
    file=${hit%%:*}
    lineno=$(cut -d: -f2 <<<"$hit")
    text=$(cut -d: -f3- <<<"$hit")
    [[ $text =~ $include_re ]] || continue
    target=${BASH_REMATCH[1]}
    if [[ $target == /* ]]; then
      bad "$file" "$lineno" "#include with an absolute path" "$target"
    elif ! inside "$root" "$file" "$target" >/dev/null; then
      bad "$file" "$lineno" "#include leaves the repository" "$target"
    fi
  done < <(grep -v -F "$MARKER" <<<"$hits" | grep -E ':[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](/|[^>"]*\.\.)' || true)

  # CMake include() and add_subdirectory().
  for file in "${files[@]}"; do
    [[ $(basename "$file") == CMakeLists.txt || $file == *.cmake ]] || continue
    while IFS=: read -r lineno text; do
      grep -q -F "$MARKER" <<<"$text" && continue
      written=$(sed -E 's/^[[:space:]]*[A-Za-z_]+[[:space:]]*\([[:space:]]*"?([^")[:space:]]*).*/\1/' <<<"$text")
      target=$written
      target=${target//'${CMAKE_CURRENT_SOURCE_DIR}'/.}
      target=${target//'${CMAKE_CURRENT_LIST_DIR}'/.}
      local up
      up=$(realpath -m --relative-to="$root/$(dirname "$file")" "$root")
      target=${target//'${CMAKE_SOURCE_DIR}'/$up}
      target=${target//'${PROJECT_SOURCE_DIR}'/$up}
      [[ -n $target && $target != *'${'* ]] || continue       # another variable: not decidable here
      [[ $text =~ ^[[:space:]]*include && $target != */* && $target != *.cmake ]] && continue  # a module
      includes=$((includes + 1))
      if [[ $target == /* ]]; then
        bad "$file" "$lineno" "CMake path is absolute" "$written"
      elif ! inside "$root" "$file" "$target" >/dev/null; then
        bad "$file" "$lineno" "CMake path leaves the repository" "$written"
      fi
    done < <(grep -n -i -E '^[[:space:]]*(include|add_subdirectory)[[:space:]]*\(' "$root/$file" || true)
  done

  if ((found)); then
    echo "links check: FAILED — point these at files inside the repository (the design is docs/DESIGN.md)" >&2
    return 1
  fi
  log "links check: $links markdown links and $includes includes in the ${#files[@]} files git tracks in $root stay inside it"
}

# --- layout --------------------------------------------------------------------

check_layout() {
  local root missing=0 dir file
  root=$(repo_root "${1:-$PFAD_ROOT}")
  [[ -f $root/README.md ]] || die "layout check: $root has no README.md"
  local -A dirs=()
  while IFS= read -r -d '' file; do
    dir=$(dirname "$file")
    while [[ $dir == src/* ]]; do dirs[$dir]=1; dir=$(dirname "$dir"); done
  done < <(tracked_files "$root" src)
  ((${#dirs[@]} > 0)) || die "layout check: git tracks nothing under $root/src: nothing to check"
  while IFS= read -r dir; do
    if ! grep -q -F -- "\`$dir/\`" "$root/README.md"; then
      printf 'layout check: README.md does not name `%s/`\n' "$dir" >&2
      missing=1
    fi
  done < <(printf '%s\n' "${!dirs[@]}" | sort)
  if ((missing)); then
    echo "layout check: FAILED — add these folders to the README's layout map, as \`src/<path>/\`" >&2
    return 1
  fi
  log "layout check: README.md names all ${#dirs[@]} folders under src/"
}

# --- format --------------------------------------------------------------------

check_format() {
  local fix=0 root
  if [[ ${1:-} == --fix ]]; then fix=1; shift; fi
  root=$(repo_root "${1:-$PFAD_ROOT}")
  command -v "$CLANG_FORMAT" >/dev/null || die "format check: $CLANG_FORMAT not found (scripts/setup.sh test installs it)"
  local -a files
  mapfile -d '' -t files < <(tracked_files "$root" '*.cpp' '*.h')
  ((${#files[@]} > 0)) || die "format check: git tracks no *.cpp or *.h file in $root"
  if ((fix)); then
    (cd "$root" && printf '%s\0' "${files[@]}" | xargs -0 "$CLANG_FORMAT" -i)
    log "format: ${#files[@]} C++ files formatted with $CLANG_FORMAT"
    return 0
  fi
  if ! (cd "$root" && printf '%s\0' "${files[@]}" | xargs -0 "$CLANG_FORMAT" --dry-run -Werror); then
    echo "format check: FAILED — run scripts/check_repo.sh format --fix (or $CLANG_FORMAT -i on these files)" >&2
    return 1
  fi
  log "format check: the ${#files[@]} C++ files git tracks in $root are formatted"
}

# --- selftest ------------------------------------------------------------------

# clean_tree DIR: a small repository every check passes.
clean_tree() {
  local t=$1
  mkdir -p "$t/docs" "$t/src/pfad/a" "$t/cmake"
  git init -q "$t"
  cp "$PFAD_ROOT/.clang-format" "$t/"
  printf '# T\n\nThe design: [docs/DESIGN.md](docs/DESIGN.md). Layout: `src/pfad/`, `src/pfad/a/`.\n' >"$t/README.md"
  printf '# Design\n\nBack to the [README](../README.md#t), up to [the top](..), [a site](https://example.org/x).\n' \
    >"$t/docs/DESIGN.md"
  printf '// A unit.\n#include "src/pfad/a/a.h"\n\nint Answer() { return 42; }\n' >"$t/src/pfad/a/a.cpp"
  printf '// A unit.\n#pragma once\n\nint Answer();\n' >"$t/src/pfad/a/a.h"
  printf 'cmake_minimum_required(VERSION 3.25)\ninclude(GNUInstallDirs)\ninclude(cmake/x.cmake)\nadd_subdirectory(src/pfad/a)\n' \
    >"$t/CMakeLists.txt"
  printf '# nothing\n' >"$t/cmake/x.cmake"
  git -C "$t" add -A
}

# plant NAME FILE TEXT: a copy of the clean tree with TEXT appended to FILE; prints its path.
plant() {
  local copy=$work/$1
  cp -a "$work/clean" "$copy"
  mkdir -p "$copy/$(dirname "$2")"
  printf '%s\n' "$3" >>"$copy/$2"
  git -C "$copy" add -A
  printf '%s\n' "$copy"
}

# expect pass|fail TREE MODE… [-- NEEDLE…]: runs the mode on TREE; a failure must print every NEEDLE.
expect() {
  local want=$1 tree=$2 status=0 err needle; shift 2
  local -a mode=() needles=()
  while (($#)) && [[ $1 != -- ]]; do mode+=("$1"); shift; done
  (($#)) && shift && needles=("$@")
  err=$("$0" "${mode[@]}" "$tree" 2>&1 >/dev/null) || status=$?
  if [[ $want == pass && $status -ne 0 ]]; then
    printf 'selftest: %s failed on %s, expected it to pass:\n%s\n' "${mode[*]}" "$(basename "$tree")" "$err" >&2
    selftest_failed=1
  elif [[ $want == fail && $status -ne 1 ]]; then
    printf 'selftest: %s exited %s on %s, expected 1 (a finding):\n%s\n' "${mode[*]}" "$status" \
      "$(basename "$tree")" "$err" >&2
    selftest_failed=1
  else
    for needle in "${needles[@]}"; do
      if ! grep -q -F -- "$needle" <<<"$err"; then
        printf 'selftest: %s on %s did not report "%s":\n%s\n' "${mode[*]}" "$(basename "$tree")" "$needle" "$err" >&2
        selftest_failed=1
      fi
    done
  fi
}

selftest() {
  command -v "$CLANG_FORMAT" >/dev/null || die "selftest: $CLANG_FORMAT not found (scripts/setup.sh test installs it)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  selftest_failed=0
  clean_tree "$work/clean"
  expect pass "$work/clean" links
  expect pass "$work/clean" layout
  expect pass "$work/clean" format

  local t
  t=$(plant shared-link README.md 'See [the design](../shared/DESIGN.md).')  # pfad:not-a-path
  local leaves="README.md:4: link leaves the repository: ../shared/DESIGN.md"  # pfad:not-a-path
  expect fail "$t" links -- "$leaves" "README.md:4: reference to the shared folder"
  t=$(plant missing-page docs/DESIGN.md 'See ![a plot](plots/missing.svg) and [ops](OPERATIONS.md).')
  expect fail "$t" links -- "docs/DESIGN.md:4: link to a file the repository does not hold: plots/missing.svg" \
    "docs/DESIGN.md:4: link to a file the repository does not hold: OPERATIONS.md"
  t=$(plant machine-path docs/notes.txt 'state lives in /home/someone/.cache')  # pfad:not-a-path
  expect fail "$t" links -- "docs/notes.txt:1: absolute path into the machine: /home/someone/.cache"  # pfad:not-a-path
  t=$(plant include-out src/pfad/a/a.h '#include "../../../../outside/x.h"')  # pfad:not-a-path
  expect fail "$t" links -- "src/pfad/a/a.h:5: #include leaves the repository: ../../../../outside/x.h"  # pfad:not-a-path
  t=$(plant cmake-out CMakeLists.txt 'add_subdirectory(../outside)')
  expect fail "$t" links -- "CMakeLists.txt:5: CMake path leaves the repository: ../outside"
  t=$(plant new-folder src/pfad/newdir/b.cpp '// B.')
  expect fail "$t" layout -- 'README.md does not name `src/pfad/newdir/`'
  expect pass "$t" links
  t=$(plant bad-format src/pfad/a/bad.cpp 'int  Bad( ){return 1;}')
  expect fail "$t" format -- "src/pfad/a/bad.cpp:1"
  expect pass "$t" format --fix
  expect pass "$t" format

  if ((selftest_failed)); then
    echo "selftest: FAILED — a check passed a planted fault or failed the clean tree" >&2
    return 1
  fi
  log "selftest: links, layout and format each fail on their planted faults and pass on the clean tree"
}

case "${1:-}" in
  links) check_links "${2:-}" ;;
  layout) check_layout "${2:-}" ;;
  format) shift; check_format "$@" ;;
  selftest) selftest ;;
  *) usage; exit 2 ;;
esac
