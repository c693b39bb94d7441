#!/usr/bin/env bash
# Shows the orchestrator's logs (main, errors-only, or container stdout) from a Kubernetes deployment via kubectl or from a local run's LOG_DIR.
set -euo pipefail

NAMESPACE="${NAMESPACE:-backend}"
DEPLOYMENT="${DEPLOYMENT:-orchestrator}"
# Empty: the pod's own $LOG_DIR (one directory per replica), else /var/log/orchestrator.
POD_LOG_DIR="${POD_LOG_DIR:-}"
POD=""
LOCAL_LOG_DIR="${LOG_DIR:-${HOME}/.multiclaude/logs}"
KUBECTL="${KUBECTL:-kubectl}"

usage() {
  cat <<'EOF'
Usage: scripts/view-logs.sh [what] [how] [where]

Shows the orchestrator's logs: JSON lines, one per record, with run_id and agent_id on
every line about a run.

What (one of):
  -o, --orchestrator         orchestrator.log: every level from DEBUG up (the default)
  -e, --orchestrator-errors  orchestrator-errors.log: ERROR and above only
  -c, --container            the container's stdout/stderr (kubectl logs; INFO and up)

How:
  -n, --last N               the last N lines (default 200); `--last all` for everything
  -f, --tail                 keep following new lines (follows the live file across rotation)
  -r, --run RUN_ID           only the lines of that run, from the rotated files too, oldest first
                             (on Kubernetes, also from the other replicas' directories beside it)
  -p, --pretty               one readable line per record: time, level, run, agent, message (needs jq)

Where (default: --k8s when kubectl reaches the deployment and LOG_DIR is unset, else --local):
  -k, --k8s                  the Kubernetes deployment, through kubectl
  -l, --local                this machine's LOG_DIR
      --namespace NS         Kubernetes namespace (default backend; env NAMESPACE)
      --deployment NAME      deployment (default orchestrator; env DEPLOYMENT); kubectl picks one of its pods
      --pod NAME             this pod instead (each replica writes its own LOG_DIR)
      --pod-log-dir DIR      log directory in the pod (default: the pod's $LOG_DIR; env POD_LOG_DIR)
      --log-dir DIR          local log directory (default $LOG_DIR, else ~/.multiclaude/logs)
  -h, --help                 this help

Examples:
  scripts/view-logs.sh                          # the main log, last 200 lines
  scripts/view-logs.sh --orchestrator-errors    # every failure
  scripts/view-logs.sh --tail -o                # follow the main log
  scripts/view-logs.sh --last 50 -o --pretty    # the last 50 records, readable
  scripts/view-logs.sh --run 20260101_120000_ab12cd34 --pretty   # one run's whole story
EOF
}

die() {
  printf 'view-logs: %s\n' "$1" >&2
  exit 2
}

what=main
last=200
follow=false
run_id=""
pretty=false
mode=""

while [ $# -gt 0 ]; do
  case "$1" in
    -o | --orchestrator) what=main ;;
    -e | --orchestrator-errors) what=errors ;;
    -c | --container) what=container ;;
    -n | --last)
      [ $# -ge 2 ] || die "$1 needs a number of lines"
      last="$2"
      shift
      ;;
    -f | --tail | --follow) follow=true ;;
    -r | --run)
      [ $# -ge 2 ] || die "$1 needs a run id"
      run_id="$2"
      shift
      ;;
    -p | --pretty) pretty=true ;;
    -k | --k8s | --kubectl) mode=k8s ;;
    -l | --local) mode=local ;;
    --namespace)
      [ $# -ge 2 ] || die "$1 needs a value"
      NAMESPACE="$2"
      shift
      ;;
    --deployment)
      [ $# -ge 2 ] || die "$1 needs a value"
      DEPLOYMENT="$2"
      shift
      ;;
    --pod)
      [ $# -ge 2 ] || die "$1 needs a value"
      POD="$2"
      shift
      ;;
    --pod-log-dir)
      [ $# -ge 2 ] || die "$1 needs a value"
      POD_LOG_DIR="$2"
      shift
      ;;
    --log-dir)
      [ $# -ge 2 ] || die "$1 needs a value"
      LOCAL_LOG_DIR="$2"
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
  shift
done

case "$last" in
  all) ;;
  '' | *[!0-9]*) die "--last takes a number of lines or 'all', not '$last'" ;;
esac
# A run id goes into a grep pattern; refuse anything but the id's own characters.
if [ -n "$run_id" ] && ! [[ "$run_id" =~ ^[A-Za-z0-9_-]+$ ]]; then die "not a run id: $run_id"; fi
if [ -n "$run_id" ] && [ "$what" = container ]; then die "--run reads the log files; use it with -o or -e"; fi
if [ -n "$run_id" ] && [ "$follow" = true ]; then die "--run shows a run's lines so far; follow with --tail instead"; fi
if [ "$pretty" = true ] && ! command -v jq >/dev/null 2>&1; then die "--pretty needs jq"; fi

if [ -z "$mode" ]; then
  mode=local
  if [ -z "${LOG_DIR:-}" ] && command -v "$KUBECTL" >/dev/null 2>&1 &&
    "$KUBECTL" get deployment "$DEPLOYMENT" --namespace "$NAMESPACE" --request-timeout=5s >/dev/null 2>&1; then
    mode=k8s
  fi
fi

case "$what" in
  main) file=orchestrator.log ;;
  errors) file=orchestrator-errors.log ;;
  container) file="" ;;
esac

# These two run under sh, here or in the pod, with the directory ('' = $LOG_DIR there) and file name as $1 and $2.
# shellcheck disable=SC2016 # expanded by that sh, not this one
TAIL_SNIPPET='dir=${1:-${LOG_DIR:-/var/log/orchestrator}}; file=$2; shift 2; exec tail "$@" "$dir/$file"'
# A log and its rotated files (file.N … file.1, then the live one), oldest first; with $3 = siblings, the same
# for every directory beside it too (the other replicas' LOG_DIRs on a shared volume).
# shellcheck disable=SC2016 # expanded by that sh, not this one
GENERATIONS_SNIPPET='dir=${1:-${LOG_DIR:-/var/log/orchestrator}}; name=$2
pattern="^$(printf %s "$name" | sed "s/[.]/[.]/g")[.][0-9]+\$"
generations() {
  (cd "$1" 2>/dev/null && for f in $(ls -1 | grep -E "$pattern" | sort -t. -k3,3nr) "$name"; do [ -f "$f" ] && cat -- "$f"; done)
}
generations "$dir"
if [ "$3" = siblings ]; then
  for other in "${dir%/*}"/*/; do [ "${other%/}" = "$dir" ] || generations "${other%/}"; done
fi
true'

# No match is not a failure; the reader's failure still is (pipefail).
only_run() { grep -F "\"run_id\":\"${run_id}\"" || [ $? -eq 1 ]; }

tail_args=()
if [ "$follow" = true ]; then tail_args+=(-F); fi
if [ "$last" = all ]; then tail_args+=(-n +1); else tail_args+=(-n "$last"); fi

show() {
  if [ "$mode" = k8s ]; then
    local target="deploy/${DEPLOYMENT}"
    if [ -n "$POD" ]; then target="$POD"; fi
    if [ "$what" = container ]; then
      local args=(logs --namespace "$NAMESPACE" "$target")
      if [ "$last" != all ]; then args+=(--tail "$last"); fi
      if [ "$follow" = true ]; then args+=(--follow); fi
      "$KUBECTL" "${args[@]}"
    elif [ -n "$run_id" ]; then
      "$KUBECTL" exec --namespace "$NAMESPACE" "$target" -- sh -c "$GENERATIONS_SNIPPET" sh "$POD_LOG_DIR" "$file" siblings | only_run
    else
      "$KUBECTL" exec --namespace "$NAMESPACE" "$target" -- sh -c "$TAIL_SNIPPET" sh "$POD_LOG_DIR" "$file" "${tail_args[@]}"
    fi
  else
    if [ "$what" = container ]; then
      die "--container reads a pod's stdout; a local orchestrator's stdout is the terminal it runs in (use -o, or --k8s)"
    fi
    [ -d "$LOCAL_LOG_DIR" ] || die "no log directory at $LOCAL_LOG_DIR (set LOG_DIR or --log-dir; --k8s for a deployment)"
    if [ -n "$run_id" ]; then
      sh -c "$GENERATIONS_SNIPPET" sh "$LOCAL_LOG_DIR" "$file" | only_run
    else
      [ -f "${LOCAL_LOG_DIR}/${file}" ] || die "no ${file} in $LOCAL_LOG_DIR yet (has the orchestrator run with LOG_DIR=$LOCAL_LOG_DIR?)"
      tail "${tail_args[@]}" "${LOCAL_LOG_DIR}/${file}"
    fi
  fi
}

# Non-JSON lines (a container's stray output) pass through unchanged.
# shellcheck disable=SC2016 # a jq program: its $names are jq's, not the shell's
PRETTY_FILTER='. as $raw | (try fromjson catch null) as $r
  | if ($r | type) == "object" then
      ([$r.time,
        ({"10":"TRACE","20":"DEBUG","30":"INFO","40":"WARN","50":"ERROR","60":"FATAL"}[$r.level | tostring] // ($r.level | tostring)),
        (if $r.run_id then "run=\($r.run_id)" else empty end),
        (if $r.agent_id then "agent=\($r.agent_id)" else empty end),
        $r.msg] | map(select(. != null) | tostring) | join(" "))
      + (if ($r.message | type) == "object" then
          " " + ([$r.message.type, $r.message.tool, ($r.message.input_summary // $r.message.text // null | if . then .[0:160] else null end)]
                 | map(select(. != null)) | join(" "))
        else "" end)
      + (if $r.error then " error=\($r.error)" else "" end)
      + (if $r.err then "\n    \($r.err.stack // $r.err.message)" else "" end)
    else $raw end'

if [ "$pretty" = true ]; then
  show | jq --unbuffered -R -r "$PRETTY_FILTER"
else
  show
fi
