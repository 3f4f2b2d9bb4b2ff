// README "Jest": each recipe in a project of its own that installs the packed package and runs
// its own Jest test of @Encrypted fields on PostgreSQL.
// - jest-ts-jest: CommonJS, Jest 29, `preset: 'ts-jest'` wrapped in withTypeormSealed (its
//   transformer compiles @noble/* with the project's TypeScript);
// - jest-swc: CommonJS, Jest 30, @swc/jest and no TypeScript: the one transformIgnorePatterns
//   line (jest.config.js), and withTypeormSealed instead of it (jest.helper.config.js; its
//   transformer compiles @noble/* with @swc/core).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { testDialects, workerPostgresUrl } from '../integration/support/dialects';
import { installConsumer, succeeded, type ConsumerProject } from './support/consumer-project';

const onPostgres = testDialects().includes('postgres');
const recipes = [
  { template: 'jest-ts-jest', configs: ['jest.config.js'] },
  { template: 'jest-swc', configs: ['jest.config.js', 'jest.helper.config.js'] },
];

(onPostgres ? describe.each(recipes) : describe.skip.each(recipes))('the Jest project $template, on postgres', ({ template, configs }) => {
  let project: ConsumerProject;
  let databaseUrl: string;

  beforeAll(async () => {
    databaseUrl = await workerPostgresUrl();
    project = await installConsumer(template);
  }, 240_000);
  afterAll(() => project?.remove());

  it('has the layout its recipe must survive', () => {
    // jest-swc also installs supertest, whose @noble/hashes 1.x takes the top level: npm nests ours.
    expect(existsSync(join(project.dir, 'node_modules', 'typeorm-sealed', 'node_modules', '@noble', 'hashes'))).toBe(template === 'jest-swc');
  });

  it.each(configs)(
    'passes its own test with %s',
    async (config) => {
      const run = await project.run('npx', ['jest', '--ci', '--config', config], { env: { DATABASE_URL: databaseUrl } });
      expect(succeeded(run, `jest --config ${config}`).stderr).toContain('Tests:       1 passed, 1 total');
    },
    180_000,
  );
});
