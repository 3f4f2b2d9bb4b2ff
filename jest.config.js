// Two projects: the main suite on TypeORM 1.x, and the same integration cases on TypeORM 0.3.x
// (installed as the alias `typeorm-03`) with the `sqlite3` driver.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];
const common = {
  transform: { '^.+\\.(t|j)s$': swc },
  // @noble/* v2 ships ESM only: let swc turn it into CommonJS for jest's module system.
  transformIgnorePatterns: ['/node_modules/(?!@noble/)'],
  moduleNameMapper: { '^typeorm-sealed$': '<rootDir>/src/index.ts', '^typeorm-sealed/nest$': '<rootDir>/src/nest/index.ts' },
  testEnvironment: 'node',
  // test/consumers/projects holds consumer projects' own sources and tests, run inside them.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/consumers/projects/'],
  // Never jest's 5 s default: a cold cache on a loaded 2-core machine makes database and CLI
  // tests slow, never wrong. Tests that need longer say so themselves.
  testTimeout: 60_000,
};
module.exports = {
  globalSetup: '<rootDir>/test/global-setup.js',
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'typeorm-1.x', globals: { TYPEORM_LINE: '1.x' }, testMatch: ['<rootDir>/test/**/*.test.ts'] },
    {
      ...common,
      displayName: 'typeorm-0.3',
      globals: { TYPEORM_LINE: '0.3' },
      setupFiles: ['<rootDir>/test/setup-noble-aead.js'],
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      moduleNameMapper: {
        ...common.moduleNameMapper,
        '^typeorm$': 'typeorm-03',
        '^typeorm/(.*)$': 'typeorm-03/$1',
      },
    },
  ],
};
