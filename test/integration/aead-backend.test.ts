// Which backend this project's integration run uses: native on TypeORM 1.x, noble on 0.3 (jest.config.js).
import { defaultAead } from '../../src/envelope/aead';
import { typeormLine } from './support/dialects';

it('runs the integration suite on the expected AEAD backend', () => {
  expect(defaultAead.name).toBe(typeormLine === '0.3' ? 'noble' : 'native');
});
