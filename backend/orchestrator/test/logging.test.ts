// The process logger: which levels reach which file, size rotation with a bounded count, flush on close, and no secret in any output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createFileLogging, MAIN_LOG_FILE, ERROR_LOG_FILE, type FileLoggingOptions } from '../src/logging/file-logger.ts';
import { parseByteSize } from '../src/logging/byte-size.ts';
import { createLogger } from '../src/logger.ts';
import { loadConfig } from '../src/config.ts';

const API_KEY = 'sk-' + 'ant-api03-Zq9FAKEKEYfortestsONLY_abcdefghijklmnop-XYZ123';
const TOKEN = 'orchestrator-token-8f2c1e7d';

function memoryStream(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  return { stream, lines };
}

async function withLogDirectory<T>(run: (directory: string) => Promise<T>): Promise<T> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'multiclaude-logs-'));
  try {
    return await run(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function open(directory: string, overrides: Partial<FileLoggingOptions> = {}) {
  const stdout = memoryStream();
  const logging = await createFileLogging({
    logDirectory: directory,
    level: 'info',
    maxSizeBytes: 10 * 1024 * 1024,
    maxFiles: 5,
    secrets: [API_KEY, TOKEN],
    stdout: stdout.stream,
    ...overrides,
  });
  return { ...logging, stdoutLines: stdout.lines };
}

const readLines = async (file: string): Promise<Array<Record<string, unknown>>> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

test('orchestrator.log gets debug and up, orchestrator-errors.log only error and up, stdout LOG_LEVEL and up', async () => {
  await withLogDirectory(async (directory) => {
    const { logger, close, stdoutLines, files } = await open(directory);
    const run = logger.child({ run_id: '20260101_000000_abcd1234' });
    run.debug('debug detail');
    run.info('run started');
    run.warn('slow');
    run.child({ agent_id: 2 }).error({ err: new Error('model said 400') }, 'agent finished');
    logger.fatal('about to die');
    await close();

    assert.deepEqual(files, { main: path.join(directory, MAIN_LOG_FILE), errors: path.join(directory, ERROR_LOG_FILE) });
    const main = await readLines(path.join(directory, MAIN_LOG_FILE));
    assert.deepEqual(main.map((line) => line['msg']), ['debug detail', 'run started', 'slow', 'agent finished', 'about to die']);
    assert.ok(main.slice(0, 4).every((line) => line['run_id'] === '20260101_000000_abcd1234'));
    const errors = await readLines(path.join(directory, ERROR_LOG_FILE));
    assert.deepEqual(errors.map((line) => [line['level'], line['msg']]), [[50, 'agent finished'], [60, 'about to die']]);
    assert.equal(errors[0]?.['agent_id'], 2);
    assert.match(JSON.stringify(errors[0]?.['err']), /model said 400/);
    assert.deepEqual(stdoutLines.map((line) => JSON.parse(line).msg), ['run started', 'slow', 'agent finished', 'about to die']);
  });
});

test('the files rotate at the configured size and keep only the configured number of old files', async () => {
  await withLogDirectory(async (directory) => {
    const { logger, close } = await open(directory, { maxSizeBytes: 2048, maxFiles: 3 });
    for (let index = 0; index < 300; index++) logger.error({ index, padding: 'x'.repeat(60) }, 'filling the log');
    await close();

    const names = (await readdir(directory)).sort();
    for (const log of [MAIN_LOG_FILE, ERROR_LOG_FILE]) {
      assert.deepEqual(names.filter((name) => name.startsWith(`${log}`)), [log, `${log}.1`, `${log}.2`, `${log}.3`], names.join(', '));
      for (const rotated of [1, 2, 3]) {
        const size = (await stat(path.join(directory, `${log}.${rotated}`))).size;
        // A line is never split across files, so a file ends at most one line past the limit.
        assert.ok(size >= 2048 && size < 2048 + 200, `${log}.${rotated} is ${size} bytes`);
      }
    }
    // Oldest in .3, newest in the live file (empty if the last line triggered a rotation): no line lost in between.
    const kept: number[] = [];
    for (const name of [`${MAIN_LOG_FILE}.3`, `${MAIN_LOG_FILE}.2`, `${MAIN_LOG_FILE}.1`, MAIN_LOG_FILE]) {
      kept.push(...(await readLines(path.join(directory, name))).map((line) => line['index'] as number));
    }
    assert.equal(kept.at(-1), 299);
    assert.deepEqual(kept, Array.from({ length: kept.length }, (_, offset) => 300 - kept.length + offset));
  });
});

test('an API key and tokens never reach a log file or stdout, whatever shape they are logged in', async () => {
  await withLogDirectory(async (directory) => {
    const { logger, close, stdoutLines } = await open(directory, { level: 'debug' });
    const keyed = logger.child({ run_id: 'r1', apiKey: API_KEY });
    keyed.error({ anthropicApiKey: API_KEY }, 'a field named like the key');
    keyed.error({ config: { anthropicApiKey: API_KEY, orchestratorToken: TOKEN } }, 'the config object');
    keyed.error({ env: { ANTHROPIC_API_KEY: API_KEY, ORCHESTRATOR_TOKEN: TOKEN } }, 'an environment');
    keyed.error({ req: { headers: { authorization: `Bearer ${TOKEN}`, 'x-api-key': API_KEY } } }, 'request headers');
    keyed.error(`a message that quotes the key ${API_KEY} and the token ${TOKEN}`);
    keyed.error({ err: new Error(`claude exited: invalid x-api-key ${API_KEY}`) }, 'an error whose text holds the key');
    keyed.error({ detail: `docker run -e ANTHROPIC_API_KEY=${API_KEY} image` }, 'a command line');
    keyed.error({ stderr: 'Authorization: Bearer some-other-bearer-credential-123' }, 'a bearer credential not configured');
    keyed.error({ stderr: 'key sk-' + 'ant-api03-ANOTHERkeyNOTconfigured_000111222' }, 'an Anthropic-shaped key not configured');
    keyed.error({ quoted: `"${API_KEY}"`, nested: { deeper: { list: [API_KEY] } } }, 'odd places');
    await close();

    const outputs = {
      main: await readFile(path.join(directory, MAIN_LOG_FILE), 'utf8'),
      errors: await readFile(path.join(directory, ERROR_LOG_FILE), 'utf8'),
      stdout: stdoutLines.join('\n'),
    };
    for (const [name, text] of Object.entries(outputs)) {
      assert.equal(text.split('\n').filter(Boolean).length, 10, `${name} has every line`);
      for (const secret of [API_KEY, TOKEN, 'Zq9FAKEKEY', 'some-other-bearer-credential-123', 'ANOTHERkeyNOTconfigured']) {
        assert.ok(!text.includes(secret), `${name} contains ${secret}`);
      }
      assert.match(text, /\[redacted\]/);
    }
  });
});

test('the plain logger used by tests censors a configured secret too', () => {
  const { stream, lines } = memoryStream();
  const logger = createLogger({ level: 'info', destination: stream, secrets: [API_KEY] });
  logger.info({ anything: `x${API_KEY}y` }, 'inline');
  assert.ok(!lines.join('\n').includes(API_KEY));
  assert.match(lines.join('\n'), /x\[redacted\]y/);
});

test('lines logged after close go to stdout only, without an error', async () => {
  await withLogDirectory(async (directory) => {
    const { logger, close, stdoutLines } = await open(directory);
    logger.info('before');
    await close();
    await close();
    logger.error('after');
    assert.deepEqual(stdoutLines.map((line) => JSON.parse(line).msg), ['before', 'after']);
    assert.doesNotMatch(await readFile(path.join(directory, MAIN_LOG_FILE), 'utf8'), /after/);
  });
});

test('an unusable LOG_DIR leaves the orchestrator logging to stdout with an error that says why', async () => {
  await withLogDirectory(async (directory) => {
    const notADirectory = path.join(directory, 'a-file');
    await writeFile(notADirectory, '');
    const { logger, close, stdoutLines, files, fileError } = await open(notADirectory);
    logger.info('still logging');
    await close();
    assert.equal(files, undefined);
    assert.match(fileError ?? '', /cannot write logs to .*a-file/);
    assert.match(stdoutLines[0] ?? '', /file logging disabled/);
    assert.equal(JSON.parse(stdoutLines[1] ?? '{}').msg, 'still logging');
  });
});

test('LOG_MAX_SIZE accepts bytes and K/M/G units, LOG_MAX_FILES a count, with the design defaults of 10 MB and 5', () => {
  assert.equal(parseByteSize('10485760'), 10 * 1024 * 1024);
  assert.equal(parseByteSize('10M'), 10 * 1024 * 1024);
  assert.equal(parseByteSize('10MB'), 10 * 1024 * 1024);
  assert.equal(parseByteSize('512k'), 512 * 1024);
  assert.equal(parseByteSize('1GiB'), 1024 ** 3);
  assert.equal(parseByteSize('0'), undefined);
  assert.equal(parseByteSize('ten'), undefined);

  const defaults = loadConfig({ HOME: '/tmp/x' });
  assert.equal(defaults.logMaxSizeBytes, 10 * 1024 * 1024);
  assert.equal(defaults.logMaxFiles, 5);
  const custom = loadConfig({ HOME: '/tmp/x', LOG_MAX_SIZE: '64K', LOG_MAX_FILES: '2' });
  assert.equal(custom.logMaxSizeBytes, 64 * 1024);
  assert.equal(custom.logMaxFiles, 2);
  assert.throws(() => loadConfig({ HOME: '/tmp/x', LOG_MAX_SIZE: 'huge' }), /LOG_MAX_SIZE/);
  assert.throws(() => loadConfig({ HOME: '/tmp/x', LOG_MAX_FILES: '0' }), /LOG_MAX_FILES/);
});
