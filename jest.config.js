/** jest: TypeScript through @swc/jest; tests live in test/<stage>/<module>.test.ts. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  // Tests share the host's cgroup tree and CPU; real senders are timing-sensitive, so run serially.
  maxWorkers: 1,
  testTimeout: 120000,
};
