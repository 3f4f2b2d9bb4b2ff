// The `typeorm-sealed/jest` entry: what a Jest configuration needs to load typeorm-sealed.
export { withTypeormSealed, type JestConfigOptions, type JestTransforms, type WithTypeormSealed } from './with-typeorm-sealed';
