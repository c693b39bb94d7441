// Builds the enhanced prompt each agent receives, exactly as the design's example.

export interface PromptInput {
  agentId: number;
  branchName: string;
  workingDirectory: string;
  userPrompt: string;
  /** A section after the task about how earlier attempts failed (learn_from_failures). */
  earlierAttempts?: string;
}

export function buildEnhancedPrompt({ agentId, branchName, workingDirectory, userPrompt, earlierAttempts }: PromptInput): string {
  return `## IMPORTANT: Workspace and Git Instructions

You are Agent ${agentId} working on branch \`${branchName}\`.

**Your working directory is: ${workingDirectory}**

All files you create should be placed in ${workingDirectory}.

**CRITICAL: At the end of your work, you MUST commit all your changes:**

1. Stage all your changes:
   \`\`\`bash
   git add -A
   \`\`\`

2. Commit with a descriptive message:
   \`\`\`bash
   git commit -m "Agent ${agentId}: <brief description of what you implemented>"
   \`\`\`

---

## Your Task:

${userPrompt}${earlierAttempts ? `\n\n${earlierAttempts}` : ''}`;
}

/**
 * What a follow-up sends into the agent's resumed session: the user's new request, with the workspace rules
 * repeated, since the sandbox is a new one (same paths, same branch).
 */
export function buildFollowUpPrompt({ agentId, branchName, workingDirectory, userPrompt }: PromptInput): string {
  return `## Follow-up from the user

You are still Agent ${agentId} on branch \`${branchName}\`, in ${workingDirectory}. Your earlier work is committed there.
Do what the user asks below, then commit all your changes again (\`git add -A\` and \`git commit -m "Agent ${agentId}: <what changed>"\`).

---

## Follow-up Task:

${userPrompt}`;
}
