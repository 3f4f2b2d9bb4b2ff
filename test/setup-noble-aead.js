// The TypeORM 0.3 project runs its integration tests on the pure-JavaScript AEAD backend, so the
// whole write/read path is exercised with both backends (the 1.x project uses the native default).
process.env.TYPEORM_SEALED_AEAD = 'noble';
