// Reads a run repository with real git, for assertions.
import { execFileSync } from 'node:child_process';

export function gitIn(directory: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'safe.directory=*', ...args], { cwd: directory, encoding: 'utf8' }).trim();
}

/** Files the branch adds or changes relative to main. */
export function filesChangedOn(runDirectory: string, branch: string): string[] {
  return gitIn(runDirectory, 'diff', '--name-only', `main...${branch}`).split('\n').filter(Boolean);
}
