const { withTypeormSealed } = require('typeorm-sealed/jest');

module.exports = withTypeormSealed({ preset: 'ts-jest', testEnvironment: 'node' });
