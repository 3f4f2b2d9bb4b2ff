// The other recipe: withTypeormSealed instead of the transformIgnorePatterns line (this project
// has no TypeScript: its transformer compiles @noble/* with @swc/core).
const { withTypeormSealed } = require('typeorm-sealed/jest');
const { transform, testEnvironment } = require('./jest.config');

module.exports = withTypeormSealed({ testEnvironment, transform });
