#!/usr/bin/env bash
# The run-setup floor: the git commands the orchestrator runs to make a run repository (init, config, initial commit, a branch and worktree per agent), as a plain shell loop.
# Usage: raw-git.sh <run-directory> <agent-count>
set -euo pipefail
dir=$1
count=$2
mkdir -p "$dir"
cd "$dir"
git init -q -b main
git config user.name 'Claude Agent'
git config user.email 'agent@claude-mcp.local'
printf '/worktrees/\n/.multiclaude/\n' > .git/info/exclude
printf '# Run\n\nA benchmark run.\n' > README.md
git add README.md
git -c commit.gpgsign=false commit -q -m 'Initial commit'
base=$(git rev-parse HEAD)
for ((n = 1; n <= count; n++)); do
  git worktree add -q -b "agent-$n" "worktrees/agent-$n" "$base"
done
mkdir -p .multiclaude
