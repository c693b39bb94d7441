// Loads kubernetes/ for the deployment tests: rendered by `kubectl kustomize` when kubectl is installed,
// else read file by file from the kustomizations (no transformations), so most checks run either way.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';

export const ROOT = path.resolve(import.meta.dirname, '..', '..', '..', '..');
export const KUBERNETES = path.join(ROOT, 'kubernetes');

/** A rendered Kubernetes object, loosely typed: the tests reach into it by path. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
}

export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function parseDocuments(text: string, source: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`${source}: ${document.errors.map((error) => error.message).join('; ')}`);
      return document.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

/** The files a kustomization directory lists, recursively through nested kustomizations. */
export function kustomizationFiles(directory: string): string[] {
  const kustomization = parse(readFileSync(path.join(directory, 'kustomization.yaml'), 'utf8')) as { resources?: string[] };
  const files: string[] = [];
  for (const resource of kustomization.resources ?? []) {
    const full = path.join(directory, resource);
    if (!existsSync(full)) throw new Error(`${path.relative(ROOT, directory)}/kustomization.yaml lists ${resource}, which does not exist`);
    if (statSync(full).isDirectory()) files.push(...kustomizationFiles(full));
    else files.push(full);
  }
  return files;
}

export function renderWithKubectl(directory: string = KUBERNETES): K8sObject[] {
  return parseDocuments(execFileSync('kubectl', ['kustomize', directory], { encoding: 'utf8', timeout: 60_000 }), 'kubectl kustomize');
}

export function loadRaw(directory: string = KUBERNETES): K8sObject[] {
  return kustomizationFiles(directory).flatMap((file) => parseDocuments(readFileSync(file, 'utf8'), path.relative(ROOT, file)));
}

export const KUBECTL = hasCommand('kubectl');

/** The manifests as the cluster would get them (or as written, without kubectl). */
export function loadManifests(): K8sObject[] {
  return KUBECTL ? renderWithKubectl() : loadRaw();
}

export function find(objects: K8sObject[], kind: string, namespace: string | undefined, name: string): K8sObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.namespace === namespace && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${namespace ? `${namespace}/` : ''}${name} in kubernetes/`);
  return found;
}

/** True when every label of the selector is on the labels. */
export function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}
