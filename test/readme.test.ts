/**
 * The README is tested as a newcomer would use it: the quick-start block runs verbatim and puts a
 * test container cgroup's message into its own directory, and the configuration reference is
 * exactly what the schema generates.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { withBenchReport } from '../bench/readme-report';
import { END, START, withReference } from '../sinks/config-doc';
import { cgroupUnavailableReason } from './helpers/fixtures';

const ROOT = path.resolve(__dirname, '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function block(name: string): string {
  const a = README.indexOf(`<!-- ${name}:start -->`);
  const b = README.indexOf(`<!-- ${name}:end -->`);
  expect(a).toBeGreaterThan(0);
  const m = /```sh\n([\s\S]*?)```/.exec(README.slice(a, b));
  expect(m).not.toBeNull();
  return m![1];
}

describe('README', () => {
  test('the two commands are npm ci and npm test, and .ci/run runs the same test command', () => {
    expect(README).toMatch(/```sh\nnpm ci\nnpm test\n```/);
    expect(fs.readFileSync(path.join(ROOT, '.ci/run'), 'utf8')).toMatch(/^npm test\b/m);
  });

  test('the configuration reference is the one the schema generates', () => {
    expect(README).toContain(START);
    expect(README).toContain(END);
    expect(withReference(README)).toBe(README);
  });

  test('the benchmark section is the latest full report (npm run docs:bench)', () => {
    const report = fs.readFileSync(path.join(ROOT, 'bench/results/latest.md'), 'utf8');
    expect(withBenchReport(README, report)).toBe(README);
    expect(README).toMatch(/Machine: .*Linux/);
  });

  const skip = cgroupUnavailableReason();
  (skip === null ? test : test.skip)('the quick start, run verbatim, puts a container cgroup\'s message into its own directory', () => {
    const res = spawnSync('bash', ['-e', '-c', block('quickstart')], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
    expect(res.status).toBe(0);
    const out = res.stdout;
    expect(out).toMatch(/==> \/tmp\/cs-demo\/logs\/docker\/[0-9a-f]{12}\/syslog\.log <==\n\S+ [0-9a-f]{12} root: hello from a container\n/);
    expect(out).toMatch(/==> \/tmp\/cs-demo\/logs\/host\/syslog\.log <==\n\S+ host root: hello from the host\n/);
    expect(fs.existsSync('/tmp/cs-demo')).toBe(false); // it cleans up after itself
  });
});
