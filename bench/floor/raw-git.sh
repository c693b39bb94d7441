#!/usr/bin/env bash
# The run-setup floor: the git commands the orchestrator runs to make a run repository (init, config, initial commit, the agent branches) and one private clone per agent, as a plain shell loop.
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
git config core.bare true
for ((n = 1; n <= count; n++)); do
  git branch "agent-$n" "$base"
done
for ((n = 1; n <= count; n++)); do
  git clone -q --no-hardlinks --template= --single-branch --branch "agent-$n" \
    -c user.name='Claude Agent' -c user.email='agent@claude-mcp.local' .git "worktrees/agent-$n"
done
mkdir -p .multiclaude
