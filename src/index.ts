export { SealedError, printable, type SealedErrorCode, type SealedErrorContext } from './errors';
export { Encrypted, type EncryptedOptions, type SealedColumnType } from './metadata/encrypted';
export { encryptedColumn, sealedEntitySchema, type EncryptedColumnOptions } from './metadata/entity-schema';
export type { BlindIndexOptions, Normalization } from './metadata/blind-index';
export type { ValueType } from './codec/value-type';
export { sealedLength } from './envelope/format';
export { KeyRing, DEFAULT_KEYS_ENV, DEFAULT_INDEX_KEYS_ENV, type KeyInput, type KeyRingOptions } from './keys/key-ring';
export { generateKey, keyIdOf } from './keys/key-material';
export { keyRingFromFile, type KeyFileOptions } from './keys/key-file';
export { keyRingFromCommand, type KeyCommandOptions } from './keys/key-command';
export { keyFromPassphrase, generateSalt, type PassphraseKeyOptions } from './keys/passphrase-key';
export { KeyVault, type KeyVaultOptions, type DataKeyInfo, type RewrapReport } from './vault/key-vault';
export { SealedDataKeys, DATA_KEY_TABLE, type DataKeyState } from './vault/data-key-table';
export type { KeyWrapper, DataKeyContext } from './vault/key-wrapper';
export { localKeyWrapper } from './vault/local-key-wrapper';
export { commandKeyWrapper, type CommandKeyWrapperOptions } from './vault/command-key-wrapper';
export { sealedSubscriber, SealedSubscriberBase, type SealedSubscriberOptions } from './typeorm/sealed-subscriber';
export type { SealedQueryEvent, SealedAfterQueryEvent } from './compat/typeorm';
export { sealedRepository } from './typeorm/sealed-repository';
export { checkStoredKeyIds, type KeyIdCheckOptions } from './typeorm/stored-key-check';
export { sealedWhere, sealedMatches } from './typeorm/sealed-where';
export { openRawRows, type OpenRawRowsOptions } from './typeorm/raw-rows';
export { widenColumn, type WidenColumnOptions } from './typeorm/widen-column';
export { redactingLogger, type RedactingLoggerOptions } from './logging/redacting-logger';
export { KeyRotator, type KeyRotatorOptions } from './rotation/key-rotator';
export type {
  RotationMode,
  RotationReport,
  ColumnReport,
  RowFailure,
  FailureGroup,
  WalkStatus,
  CensusReport,
  ColumnCensus,
  IndexCensus,
  RotationProgress,
} from './rotation/report';
