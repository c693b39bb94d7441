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

test('the run store is embedded unless DATABASE_URL names PostgreSQL; retention is off unless RUN_RETENTION_DAYS is set', () => {
  const defaults = loadConfig({ HOME: '/home/dev' });
  assert.equal(defaults.databaseUrl, undefined);
  assert.equal(defaults.runRetentionDays, undefined);
  const cluster = loadConfig({ HOME: '/home/dev', DATABASE_URL: 'postgres://multiclaude:secret@postgres:5432/multiclaude', RUN_RETENTION_DAYS: '90' });
  assert.equal(cluster.databaseUrl, 'postgres://multiclaude:secret@postgres:5432/multiclaude');
  assert.equal(cluster.runRetentionDays, 90);
  assert.throws(
    () => loadConfig({ DATABASE_URL: 'mysql://x@y/z', RUN_RETENTION_DAYS: '0' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /DATABASE_URL must be a PostgreSQL URL/);
      assert.match(error.message, /RUN_RETENTION_DAYS must be positive/);
      return true;
    },
  );
});

test("KUBERNETES_RUNTIME_CLASS names the agents' pods' RuntimeClass; unset is the cluster's default; a bad name is refused", () => {
  assert.equal(loadConfig({ HOME: '/home/dev' }).kubernetes.runtimeClass, undefined);
  assert.equal(loadConfig({ HOME: '/home/dev', KUBERNETES_RUNTIME_CLASS: '' }).kubernetes.runtimeClass, undefined);
  assert.equal(loadConfig({ HOME: '/home/dev', KUBERNETES_RUNTIME_CLASS: 'gvisor' }).kubernetes.runtimeClass, 'gvisor');
  assert.throws(() => loadConfig({ HOME: '/home/dev', KUBERNETES_RUNTIME_CLASS: 'G Visor' }), /KUBERNETES_RUNTIME_CLASS must be a RuntimeClass name/);
});
