// Shared helpers for the model tests: load YAML text and get the scenario or the issues.
import { expect } from 'vitest';
import { formatIssue, loadScenario, type Scenario, type ValidationIssue } from '../../src/model';

export function load(yaml: string): { scenario: Scenario; warnings: readonly ValidationIssue[] } {
  const result = loadScenario(yaml, 'test.yaml');
  if (!result.ok) expect.fail(`unexpected issues:\n${result.issues.map(formatIssue).join('\n')}`);
  return { scenario: result.scenario, warnings: result.warnings };
}

/** The rendered errors of a scenario that must fail to load. */
export function errorsOf(yaml: string): string[] {
  const result = loadScenario(yaml, 'test.yaml');
  if (result.ok) expect.fail('expected the scenario to be rejected');
  return result.issues.map(formatIssue);
}

export function warningsOf(yaml: string): string[] {
  return load(yaml).warnings.map(formatIssue);
}

/** A Node document with one InternalIP; `labels` and `spec` are flow-style YAML maps. */
export function node(name: string, ip: string, opts: { labels?: string; spec?: string } = {}): string {
  return `---
apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels: ${opts.labels ?? '{}'}
spec: ${opts.spec ?? '{}'}
status:
  addresses:
  - type: InternalIP
    address: ${ip}
`;
}
