import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../../src/config.ts';

test('defaults suit a laptop: workspace and logs under the home directory, port 8080, auto runtime', () => {
  const config = loadConfig({ HOME: '/home/dev' });
  assert.equal(config.workspaceLocal, '/home/dev/.multiclaude/workspace');
  assert.equal(config.workspacePath, '/home/dev/.multiclaude/workspace');
  assert.equal(config.logDirectory, '/home/dev/.multiclaude/logs');
  assert.equal(config.port, 8080);
  assert.equal(config.agentRuntime, 'auto');
  assert.equal(config.dockerImage, 'claude-mcp:latest');
  assert.equal(config.logLevel, 'info');
});

test('the design variables are read, with WORKSPACE_PATH separate from WORKSPACE_LOCAL', () => {
  const config = loadConfig({
    ANTHROPIC_API_KEY: 'k',
    WORKSPACE_PATH: '/data/claude-workspace',
    WORKSPACE_LOCAL: '/workspace',
    DOCKER_MCP_IMAGE: 'mcp:1',
    LOG_DIR: '/var/log/orchestrator',
    LOG_LEVEL: 'debug',
    PORT: '9000',
    AGENT_RUNTIME: 'local',
    AGENT_TIMEOUT_MS: '1000',
    MAX_AGENT_TURNS: '3',
  });
  assert.equal(config.workspacePath, '/data/claude-workspace');
  assert.equal(config.workspaceLocal, '/workspace');
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.port, 9000);
  assert.equal(config.agentTimeoutMs, 1000);
  assert.equal(config.maxAgentTurns, 3);
});

test('bad variables are all named in one clear error', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty', AGENT_RUNTIME: 'vm', LOG_LEVEL: 'LOUD', ANTHROPIC_BASE_URL: 'not a url' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      for (const name of ['PORT', 'AGENT_RUNTIME', 'LOG_LEVEL', 'ANTHROPIC_BASE_URL']) assert.match(error.message, new RegExp(name));
      return true;
    },
  );
});
