// Unit tests of the docker argument builder: hardening, labels, mounts, path mapping and environment, without Docker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildDockerRunArgs,
  containerName,
  toEnginePath,
  type DockerSpecOptions,
} from '../../src/sandboxes/docker-spec.ts';
import { SandboxError } from '../../src/sandboxes/runtime.ts';

const LOCAL = '/home/orchestrator/.multiclaude/workspace';
const ENGINE = '/data/claude-workspace';
const RUN = `${LOCAL}/runs/run_20250101_abc`;

function options(overrides: Partial<DockerSpecOptions> = {}): DockerSpecOptions {
  return {
    image: 'claude-mcp:latest',
    runId: '20250101_abc',
    agentId: 2,
    worktreePath: `${RUN}/worktrees/agent-2`,
    workspaceLocal: LOCAL,
    workspacePath: ENGINE,
    uid: 10001,
    gid: 10001,
    memory: '2g',
    cpus: '1',
    pidsLimit: 256,
    ...overrides,
  };
}

/** The value after each occurrence of a flag. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((arg, index) => (arg === flag ? [args[index + 1] ?? ''] : []));
}

function value(args: string[], flag: string): string | undefined {
  return values(args, flag)[0];
}

interface Mount {
  source: string;
  target: string;
  readonly: boolean;
}

function mounts(args: string[]): Mount[] {
  return values(args, '--mount').map((spec) => {
    const fields = new Map<string, string>();
    // Enough CSV for these tests: quoted fields may hold commas.
    for (const match of spec.matchAll(/(?:"((?:[^"]|"")*)"|([^,]*))(?:,|$)/g)) {
      const field = match[1] !== undefined ? match[1].replace(/""/g, '"') : (match[2] ?? '');
      if (field === '') continue;
      const [key, ...rest] = field.split('=');
      fields.set(key ?? '', rest.join('='));
    }
    return { source: fields.get('source') ?? '', target: fields.get('target') ?? '', readonly: fields.has('readonly') };
  });
}

function environment(args: string[]): Map<string, string> {
  return new Map(values(args, '--env').map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

test('the container has no network, no capabilities, no new privileges and a read-only root, and never pulls', () => {
  const args = buildDockerRunArgs(options());
  assert.equal(value(args, '--network'), 'none');
  assert.equal(value(args, '--cap-drop'), 'ALL');
  assert.equal(value(args, '--security-opt'), 'no-new-privileges');
  assert.equal(value(args, '--pull'), 'never');
  assert.ok(args.includes('--read-only'));
  assert.ok(args.includes('--interactive'));
  assert.ok(!args.includes('--privileged'));
  assert.deepEqual(values(args, '--tmpfs').map((spec) => spec.split(':')[0]), ['/tmp', '/home/agent']);
});

test('the container runs as the given non-root user, who owns its tmpfs HOME', () => {
  const args = buildDockerRunArgs(options({ uid: 1000, gid: 1001 }));
  assert.equal(value(args, '--user'), '1000:1001');
  const home = values(args, '--tmpfs').find((spec) => spec.startsWith('/home/agent:'));
  assert.match(home ?? '', /uid=1000,gid=1001,mode=0700/);
});

test('memory (with no extra swap), CPUs and pids are limited to the configured values', () => {
  const args = buildDockerRunArgs(options({ memory: '512m', cpus: '0.5', pidsLimit: 64 }));
  assert.equal(value(args, '--memory'), '512m');
  assert.equal(value(args, '--memory-swap'), '512m');
  assert.equal(value(args, '--cpus'), '0.5');
  assert.equal(value(args, '--pids-limit'), '64');
});

test('the container is named and labelled after its run and agent', () => {
  const args = buildDockerRunArgs(options());
  assert.equal(value(args, '--name'), 'multiclaude-20250101_abc-agent-2');
  assert.deepEqual(values(args, '--label'), [
    'multiclaude.managed=true',
    'multiclaude.run_id=20250101_abc',
    'multiclaude.agent_id=2',
    `multiclaude.workspace=${ENGINE}`,
  ]);
});

test("container names are sanitised to Docker's character set", () => {
  assert.equal(containerName('run/20 25:x', 3), 'multiclaude-run-20-25-x-agent-3');
  assert.equal(containerName('..', 1), 'multiclaude-run-agent-1');
  assert.match(containerName('ü-_.ok', 1), /^multiclaude-[a-zA-Z0-9_.-]+$/);
});

test('every mount source is under WORKSPACE_PATH although the orchestrator gives paths under WORKSPACE_LOCAL', () => {
  const all = mounts(buildDockerRunArgs(options()));
  assert.ok(all.length > 0);
  for (const mount of all) {
    assert.ok(mount.source.startsWith(`${ENGINE}/runs/run_20250101_abc/`), mount.source);
    assert.ok(!mount.source.includes(LOCAL), mount.source);
  }
});

test("the agent's own repository is the one mount: writable, at /workspace; nothing of the run repository, other agents or the records", () => {
  const all = mounts(buildDockerRunArgs(options()));
  assert.deepEqual(all, [{ source: `${ENGINE}/runs/run_20250101_abc/worktrees/agent-2`, target: '/workspace', readonly: false }]);
  assert.ok(!all.some((mount) => /\/\.git$|\/\.git\/|\.multiclaude|agent-1/.test(mount.source)));
});

test('git in the container finds the repository in /workspace by itself: no GIT_DIR or work tree is pointed anywhere', () => {
  const env = environment(buildDockerRunArgs(options()));
  assert.equal(env.get('GIT_DIR'), undefined);
  assert.equal(env.get('GIT_WORK_TREE'), undefined);
  assert.equal(env.get('HOME'), '/home/agent');
});

test('no ANTHROPIC variable or other secret reaches the container, and every --env carries its own value', () => {
  const saved = { ...process.env };
  process.env['ANTHROPIC_API_KEY'] = 'sk-' + 'ant-secret';
  process.env['ANTHROPIC_BASE_URL'] = 'http://127.0.0.1:1';
  process.env['GITHUB_TOKEN'] = 'ghp_secret';
  try {
    const args = buildDockerRunArgs(options());
    assert.ok(!args.some((arg) => /ANTHROPIC|TOKEN|SECRET|PASSWORD|sk-ant|ghp_/i.test(arg)), args.join(' '));
    assert.ok(!args.includes('--env-file'));
    // `--env NAME` without `=` would copy NAME from the docker client's environment.
    for (const entry of values(args, '--env')) assert.match(entry, /^[A-Z_][A-Z0-9_]*=/);
    assert.deepEqual([...environment(args).keys()].sort(), [
      'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC',
      'CLAUDE_CONFIG_DIR',
      'DISABLE_AUTOUPDATER',
      'DISABLE_ERROR_REPORTING',
      'DISABLE_TELEMETRY',
      'HOME',
      'LANG',
    ]);
  } finally {
    process.env = saved;
  }
});

test('the command is claude mcp serve in the configured image, started in /workspace', () => {
  const args = buildDockerRunArgs(options({ image: 'registry.local/claude-mcp:1' }));
  assert.deepEqual(args.slice(-4), ['registry.local/claude-mcp:1', 'claude', 'mcp', 'serve']);
  assert.equal(value(args, '--workdir'), '/workspace');
});

test('paths outside WORKSPACE_LOCAL are refused instead of being mounted', () => {
  assert.throws(() => buildDockerRunArgs(options({ worktreePath: '/etc' })), SandboxError);
  assert.throws(() => buildDockerRunArgs(options({ worktreePath: `${LOCAL}/../escape` })), /outside WORKSPACE_LOCAL/);
  assert.throws(() => toEnginePath('relative/path', LOCAL, ENGINE), /absolute/);
});

test('WORKSPACE_LOCAL maps onto WORKSPACE_PATH, including when both are the same', () => {
  assert.equal(toEnginePath(`${LOCAL}/runs/r/.git`, LOCAL, ENGINE), `${ENGINE}/runs/r/.git`);
  assert.equal(toEnginePath(`${LOCAL}/runs/r`, `${LOCAL}/`, `${ENGINE}/`), `${ENGINE}/runs/r`);
  assert.equal(toEnginePath(`${LOCAL}/runs/r`, LOCAL, LOCAL), `${LOCAL}/runs/r`);
});

test('a mount source holding a comma is quoted so Docker parses it as one field', () => {
  const local = '/srv/a,b';
  const args = buildDockerRunArgs(
    options({ workspaceLocal: local, workspacePath: local, worktreePath: `${local}/runs/r/worktrees/agent-2` }),
  );
  const spec = values(args, '--mount')[0] ?? '';
  assert.equal(spec, 'type=bind,"source=/srv/a,b/runs/r/worktrees/agent-2",target=/workspace');
  assert.equal(mounts(args)[0]?.source, '/srv/a,b/runs/r/worktrees/agent-2');
});

test('a bad agent id or user is refused', () => {
  assert.throws(() => buildDockerRunArgs(options({ agentId: -1 })), /agent id/);
  assert.throws(() => buildDockerRunArgs(options({ agentId: 1.5 })), /agent id/);
  assert.throws(() => buildDockerRunArgs(options({ uid: -1 })), /sandbox user/);
});

test('the setup sandbox (agent 0): its tree is the only mount, no GIT_DIR, and it alone has the bridge network', () => {
  const setup = buildDockerRunArgs(options({ agentId: 0, network: true, worktreePath: `${RUN}/worktrees/setup` }));
  assert.deepEqual(mounts(setup).map((mount) => [mount.source, mount.target, mount.readonly]), [[`${ENGINE}/runs/run_20250101_abc/worktrees/setup`, '/workspace', false]]);
  assert.equal(values(setup, '--network')[0], 'bridge');
  assert.equal(values(setup, '--name')[0], containerName('20250101_abc', 0));
  assert.match(containerName('20250101_abc', 0), /-setup$/);
  assert.ok(!values(setup, '--env').some((variable) => variable.startsWith('GIT_DIR=')));
  for (const flag of ['--read-only', '--cap-drop', '--security-opt', '--memory', '--pids-limit', '--user']) assert.ok(setup.includes(flag), `${flag} as for agents`);
  assert.equal(values(buildDockerRunArgs(options({})), '--network')[0], 'none', 'an agent has none');
});
