// Whether the Docker sandboxes can run here: an engine that answers and the MCP image, else the reason (for skipUnlessRequired).
import { execFileSync } from 'node:child_process';

export function dockerUnavailable(image = 'claude-mcp:latest'): string | undefined {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 15_000 });
  } catch {
    return 'no Docker engine answers `docker info`';
  }
  try {
    execFileSync('docker', ['image', 'inspect', image], { stdio: 'ignore', timeout: 15_000 });
  } catch {
    return `image ${image} is missing (npm run build:images)`;
  }
  return undefined;
}
