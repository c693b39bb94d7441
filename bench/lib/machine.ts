// What the results were taken on: cores, memory, load, and the versions of node, git, claude and docker.
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';

const exec = promisify(execFile);

async function version(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await exec(command, args, { timeout: 15_000 });
    return stdout.trim().split('\n')[0] ?? '';
  } catch {
    return 'not available';
  }
}

export interface Machine {
  date: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  git: string;
  claude: string;
  docker: string;
  /** 1, 5 and 15-minute load averages. */
  load: number[];
}

export async function describeMachine(claude: string): Promise<Machine> {
  return {
    date: new Date().toISOString(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    git: await version('git', ['--version']),
    claude: await version(claude, ['--version']),
    docker: await version('docker', ['version', '--format', 'engine {{.Server.Version}}, client {{.Client.Version}}']),
    load: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

export async function dockerUsable(image: string): Promise<boolean> {
  try {
    await exec('docker', ['image', 'inspect', '--format', '{{.Id}}', image], { timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}
