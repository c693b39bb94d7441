// A run's source repository, reached only by the orchestrator's own git with its own credentials: where a source may come from, what its ref names (ls-remote), the run's one fetch, and pushes of agents' branches back as new branches.
//
// These are the only git processes that reach past a local path (git.ts `remote`): each allows only its
// source's own protocol. Credentials (GIT_CREDENTIALS_FILE, GIT_HTTP_TOKEN) reach git through
// GIT_CONFIG_COUNT/KEY/VALUE and variables of that one git process: never argv (world-readable in /proc),
// never a file of the run repository (the fetch names the source by URL, writes no remote, no FETCH_HEAD),
// never an agent's clone (cloned from the run repository) or a sandbox. Source URLs are stored and shown
// without credentials, and every git message is passed through redact() before it leaves this module.
import path from 'node:path';
import type { RunSource, SourceRequest } from '@multiclaude/contract';
import { git, gitStatus, type RemoteAccess, type RemoteProtocol } from './git.ts';
import type { RunPaths } from '../workspace/layout.ts';

export interface SourceSettings {
  /** ALLOWED_SOURCES: a source must start with one of these; undefined allows any. */
  allowedPrefixes?: readonly string[] | undefined;
  /** GIT_CREDENTIALS_FILE: git-credential-store format (`https://user:token@host` per line). */
  credentialsFile?: string | undefined;
  /** GIT_HTTP_TOKEN (with GIT_HTTP_USER): the password git gives an HTTP(S) source that asks for one. */
  httpToken?: string | undefined;
  httpUser?: string | undefined;
  /** GIT_SSH_COMMAND: how the orchestrator's git starts ssh for `ssh://` sources (default `ssh -o BatchMode=yes`). */
  sshCommand?: string | undefined;
  /** How long ls-remote may take (validation, on the request's path). */
  lookupTimeoutMs?: number;
  /** How long the run's fetch or a push may take (SOURCE_TIMEOUT_MS). */
  transferTimeoutMs?: number;
}

export type SourceErrorCode = 'invalid_source' | 'not_allowed' | 'unreadable' | 'ref_not_found' | 'push_exists' | 'push_failed';

/** A source that cannot be used; `field` is the request field at fault, the message has no credentials. */
export class SourceError extends Error {
  readonly code: SourceErrorCode;
  readonly field: string | undefined;
  constructor(code: SourceErrorCode, message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SourceError';
    this.code = code;
    this.field = field;
  }
}

/** A source checked against its repository: what git fetches, and what the run records. */
export interface ResolvedSource {
  /** The repository as stored and shown: no credentials. */
  repo: string;
  /** The ref as asked for (`HEAD` when none was). */
  ref: string;
  /** What to fetch: a full ref name, or a commit id. */
  fetchSpec: string;
  /** The commit, when the source advertised it (a commit id given as ref is only known once fetched). */
  commit: string | undefined;
}

export interface PushOutcome {
  remote: string;
  branch: string;
  commit: string;
  /** The branch was already there with this commit: nothing was sent. */
  alreadyThere: boolean;
}

const COMMIT_ID = /^[0-9a-f]{7,64}$/;
const FULL_COMMIT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const LOOKUP_TIMEOUT_MS = 30_000;
const TRANSFER_TIMEOUT_MS = 10 * 60_000;

/** The URL schemes a source may have, and the git protocols each may use (an http source may be redirected to https). */
const URL_PROTOCOLS = new Map<string, readonly RemoteProtocol[]>([
  ['https:', ['https']],
  ['http:', ['http', 'https']],
  ['ssh:', ['ssh']],
  ['git:', ['git']],
  ['file:', ['file']],
]);

/** The protocols git may use for a normalized repository (an absolute path is git's `file` protocol). */
function protocolsOf(repo: string): readonly RemoteProtocol[] {
  return repo.startsWith('/') ? ['file'] : (URL_PROTOCOLS.get(new URL(repo).protocol) ?? []);
}

/** Removes `user:password@` from every URL in a text (git's messages repeat the URL it was given). */
export function stripUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1');
}

/** Checks a source's form and where it is allowed from; returns the repository git is given (a URL or a normalized path). */
export function normalizeRepository(repo: string, allowedPrefixes: readonly string[] | undefined): string {
  let normalized: string;
  if (repo.startsWith('/')) {
    normalized = path.resolve(repo);
  } else {
    let url: URL;
    try {
      url = new URL(repo);
    } catch {
      throw new SourceError('invalid_source', 'source.repo is not a valid URL', 'source.repo');
    }
    if (!URL_PROTOCOLS.has(url.protocol)) {
      throw new SourceError('invalid_source', 'source.repo must be an https://, http://, ssh://, git:// or file:// URL, or an absolute path', 'source.repo');
    }
    // A user name alone is how ssh names the account; anything more is a secret that would be stored with the run.
    if (url.password || (url.username && url.protocol !== 'ssh:')) {
      throw new SourceError(
        'invalid_source',
        'source.repo must not carry credentials: give the orchestrator GIT_CREDENTIALS_FILE or GIT_HTTP_TOKEN instead',
        'source.repo',
      );
    }
    normalized = repo;
  }
  if (allowedPrefixes && !allowedPrefixes.some((prefix) => isUnder(normalized, prefix))) {
    throw new SourceError('not_allowed', `source.repo is not under ALLOWED_SOURCES (${allowedPrefixes.join(', ')})`, 'source.repo');
  }
  return normalized;
}

/** `prefix` matches at a path boundary: `/srv/repos` allows `/srv/repos/a` but not `/srv/repos-evil`. */
function isUnder(value: string, prefix: string): boolean {
  if (!value.startsWith(prefix)) return false;
  return value.length === prefix.length || /[/:]$/.test(prefix) || value[prefix.length] === '/';
}

export class SourceRepositories {
  readonly #settings: SourceSettings;

  constructor(settings: SourceSettings = {}) {
    this.#settings = settings;
  }

  /**
   * What the orchestrator's git may use to reach this repository: its protocol alone, and the variables
   * of that one process: the credential helpers (which answer only `get`, so git never writes the
   * credential file), the secrets they read, and a non-interactive ssh.
   */
  access(repo: string): RemoteAccess {
    const helpers = [''];
    const environment: Record<string, string> = { GIT_SSH_COMMAND: this.#settings.sshCommand ?? 'ssh -o BatchMode=yes' };
    if (this.#settings.credentialsFile) {
      environment['MULTICLAUDE_GIT_CREDENTIALS_FILE'] = this.#settings.credentialsFile;
      helpers.push('!f() { test "$1" = get && git credential-store --file="$MULTICLAUDE_GIT_CREDENTIALS_FILE" get; }; f');
    }
    if (this.#settings.httpToken) {
      environment['MULTICLAUDE_GIT_USER'] = this.#settings.httpUser ?? 'x-access-token';
      environment['MULTICLAUDE_GIT_TOKEN'] = this.#settings.httpToken;
      helpers.push('!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n" "$MULTICLAUDE_GIT_USER" "$MULTICLAUDE_GIT_TOKEN"; }; f');
    }
    environment['GIT_CONFIG_COUNT'] = String(helpers.length);
    helpers.forEach((helper, index) => {
      environment[`GIT_CONFIG_KEY_${index}`] = 'credential.helper';
      environment[`GIT_CONFIG_VALUE_${index}`] = helper; // the first, empty, starts the list afresh
    });
    return { protocols: protocolsOf(repo), environment };
  }

  /** Any secret in a git message removed: URLs' user info and the token itself. */
  redact(text: string): string {
    const token = this.#settings.httpToken;
    const stripped = stripUrlCredentials(text);
    return token ? stripped.split(token).join('***') : stripped;
  }

  #failure(code: SourceErrorCode, prefix: string, error: unknown, field?: string): SourceError {
    const message = error instanceof Error ? error.message.replace(/^git [a-z-]+ failed: /, '') : String(error);
    return new SourceError(code, `${prefix}: ${this.redact(message)}`, field, { cause: error });
  }

  /** Whether the repository may be used now (ALLOWED_SOURCES), and its form for git. */
  repository(repo: string): string {
    return normalizeRepository(repo, this.#settings.allowedPrefixes);
  }

  /** Checks a requested source without creating anything: its form, ALLOWED_SOURCES, its ref's form, and (ls-remote) that it can be read and names the ref. */
  async resolve(request: SourceRequest, signal?: AbortSignal): Promise<ResolvedSource> {
    const repo = this.repository(request.repo);
    const ref = request.ref ?? 'HEAD';
    const isCommitId = COMMIT_ID.test(ref);
    if (!isCommitId && (await gitStatus(['check-ref-format', '--allow-onelevel', ref], { cwd: '/' })).exitCode !== 0) {
      throw new SourceError('invalid_source', `source.ref ${JSON.stringify(ref)} is not a valid branch, tag or commit (git check-ref-format)`, 'source.ref');
    }
    let listing: string;
    try {
      listing = await git(['ls-remote', '--symref', '--end-of-options', repo], this.#options(repo, signal, this.#settings.lookupTimeoutMs ?? LOOKUP_TIMEOUT_MS));
    } catch (error) {
      throw this.#failure('unreadable', 'source.repo cannot be read', error, 'source.repo');
    }
    const advertised = new Map<string, string>();
    for (const line of listing.split('\n')) {
      const [commit, name] = line.split('\t');
      if (commit && name && !commit.startsWith('ref:')) advertised.set(name, commit);
    }
    for (const name of ref === 'HEAD' ? ['HEAD'] : [ref, `refs/heads/${ref}`, `refs/tags/${ref}`]) {
      // An annotated tag's peeled entry (`^{}`) is the commit it names.
      const commit = advertised.get(`${name}^{}`) ?? advertised.get(name);
      if (commit) return { repo, ref, fetchSpec: name, commit };
    }
    if (ref === 'HEAD') throw new SourceError('ref_not_found', 'the source has no HEAD (is it empty?): give source.ref', 'source.ref');
    if (isCommitId) {
      const tip = [...advertised.values()].find((commit) => commit.startsWith(ref));
      if (tip) return { repo, ref, fetchSpec: tip, commit: tip };
      if (FULL_COMMIT_ID.test(ref)) return { repo, ref, fetchSpec: ref, commit: undefined };
      throw new SourceError('ref_not_found', `source.ref ${ref} is no branch or tag of the source; give a commit id in full (40 hex digits)`, 'source.ref');
    }
    throw new SourceError('ref_not_found', `source.ref ${JSON.stringify(ref)} is no branch, tag or commit of the source`, 'source.ref');
  }

  /** The run's one fetch: the source's commit and its history into the run repository, as `main`. Returns the commit. */
  async fetchAsMain(paths: RunPaths, source: ResolvedSource, signal?: AbortSignal): Promise<string> {
    const options = this.#options(source.repo, signal, this.#settings.transferTimeoutMs ?? TRANSFER_TIMEOUT_MS, paths.gitDirectory);
    try {
      // No destination ref and no FETCH_HEAD: nothing of the source's names (or its URL) is written here.
      await git(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', '--end-of-options', source.repo, source.fetchSpec], options);
    } catch (error) {
      const field = source.commit ? 'source.repo' : 'source.ref';
      throw this.#failure(source.commit ? 'unreadable' : 'ref_not_found', source.commit ? 'the source could not be fetched' : `source.ref ${source.ref} could not be fetched`, error, field);
    }
    const commit = source.commit ?? source.fetchSpec;
    const found = await gitStatus(['rev-parse', '--verify', '--quiet', '--end-of-options', `${commit}^{commit}`], { gitDirectory: paths.gitDirectory });
    if (found.exitCode !== 0) throw new SourceError('ref_not_found', `source.ref ${source.ref} is not a commit`, 'source.ref');
    await git(['update-ref', 'refs/heads/main', found.stdout.trim()], { gitDirectory: paths.gitDirectory });
    return found.stdout.trim();
  }

  /** Pushes `commit` to the source as a new branch; never forces, and an existing branch with other content is refused. */
  async push(paths: RunPaths, source: RunSource, branch: string, commit: string, signal?: AbortSignal): Promise<PushOutcome> {
    const repo = this.repository(source.repo);
    if ((await gitStatus(['check-ref-format', '--branch', branch], { cwd: '/' })).exitCode !== 0 || branch.startsWith('-')) {
      throw new SourceError('invalid_source', `branch ${JSON.stringify(branch)} is not a valid branch name (git check-ref-format --branch)`, 'branch');
    }
    const target = `refs/heads/${branch}`;
    const lookup = this.#options(repo, signal, this.#settings.lookupTimeoutMs ?? LOOKUP_TIMEOUT_MS, paths.gitDirectory);
    let existing: string | undefined;
    try {
      existing = (await git(['ls-remote', '--end-of-options', repo, target], lookup)).split('\t')[0]?.trim() || undefined;
    } catch (error) {
      throw this.#failure('push_failed', 'the source cannot be read', error);
    }
    if (existing === commit) return { remote: repo, branch, commit, alreadyThere: true };
    if (existing) throw new SourceError('push_exists', `the source already has a branch ${branch} (at ${existing.slice(0, 12)}) with other content; choose another branch`, 'branch');
    const transfer = this.#options(repo, signal, this.#settings.transferTimeoutMs ?? TRANSFER_TIMEOUT_MS, paths.gitDirectory);
    const pushed = await gitStatus(['push', '--quiet', '--no-verify', '--porcelain', '--end-of-options', repo, `${commit}:${target}`], transfer).catch((error: unknown) => {
      throw this.#failure('push_failed', 'the push failed', error);
    });
    if (pushed.exitCode !== 0) {
      const words = this.redact(`${pushed.stdout}\n${pushed.stderr}`.trim());
      // Someone made the branch between the look and the push: git refused it without force.
      if (/\[rejected\]|non-fast-forward|fetch first|already exists/.test(words)) {
        throw new SourceError('push_exists', `the source already has a branch ${branch} with other content: ${words}`, 'branch');
      }
      throw new SourceError('push_failed', `the push failed: ${words}`);
    }
    return { remote: repo, branch, commit, alreadyThere: false };
  }

  /** A source transfer's git options; `gitDirectory` is the run repository's, when the transfer touches it. */
  #options(repo: string, signal: AbortSignal | undefined, timeoutMs: number, gitDirectory?: string) {
    return { timeoutMs, remote: this.access(repo), ...(gitDirectory ? { gitDirectory } : {}), ...(signal ? { signal } : {}) };
  }
}
