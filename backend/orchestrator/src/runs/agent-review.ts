// After an agent ends: measures its branch's diff against the run's base commit, for ranking.
import type { Logger } from 'pino';
import type { DiffStats } from '@multiclaude/contract';
import { diffFiles, statsOf } from '../git/review.ts';

export async function measureDiff(gitDirectory: string, baseCommit: string, branch: string, logger: Logger): Promise<DiffStats | null> {
  try {
    return statsOf(await diffFiles(gitDirectory, baseCommit, `refs/heads/${branch}`));
  } catch (error) {
    logger.warn({ err: error }, 'could not measure the agent’s diff');
    return null;
  }
}
