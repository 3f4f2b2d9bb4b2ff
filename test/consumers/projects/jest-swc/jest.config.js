module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true } } },
    ],
  },
  transformIgnorePatterns: ['^(?!.*/node_modules/@noble/).*/node_modules/'], // typeorm-sealed: let @swc/jest compile @noble/* (ES modules only), wherever npm put it
};
