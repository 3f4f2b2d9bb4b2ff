import { Encrypted } from '../../../src/metadata/encrypted';
import { sealedSpecOf } from '../../../src/metadata/registry';
import { sealedLength } from '../../../src/envelope/format';

function declare(options: Parameters<typeof Encrypted>[0], designType?: unknown): () => void {
  return () => {
    class Account {}
    if (designType !== undefined) Reflect.defineMetadata('design:type', designType, Account.prototype, 'secret');
    Encrypted(options)(Account.prototype, 'secret');
  };
}

describe('@Encrypted', () => {
  it.each([
    [String, 'string'],
    [Number, 'number'],
    [BigInt, 'bigint'],
    [Boolean, 'boolean'],
    [Date, 'date'],
    [Buffer, 'bytes'],
    [Uint8Array, 'bytes'],
    [Array, 'json'],
  ])('infers the value type from design:type %p', (designType, valueType) => {
    class Account {}
    Reflect.defineMetadata('design:type', designType, Account.prototype, 'secret');
    Encrypted()(Account.prototype, 'secret');
    expect(sealedSpecOf({ target: Account, propertyName: 'secret' })).toEqual({ valueType, boundTo: {} });
  });

  it('asks for valueType when it cannot infer it, never guessing JSON for a union', () => {
    expect(declare({})).toThrow(/SEALED_CONFIG: Account.secret: cannot infer the value type.*pass valueType/);
    expect(declare({}, Object)).toThrow(/recorded its type as Object, as it does for a union \(e.g. Date \| null\) and for an object type/); // what tsc emits for Date | null
    expect(declare({}, Map)).toThrow(/recorded its type as Map, from which no value type is inferred/);
    expect(declare({ valueType: 'string' })).not.toThrow();
    expect(declare({ valueType: 'json' }, Object)).not.toThrow();
  });

  it('says that no metadata was emitted, without blaming emitDecoratorMetadata (esbuild and tsx emit none with it on)', () => {
    expect(declare({})).toThrow(
      /cannot infer the value type: the compiler emitted no design:type metadata for this property \(esbuild and tsx never do, even with emitDecoratorMetadata on;/,
    );
    expect(declare({})).not.toThrow(/recorded its type/);
  });

  it('checks option names and values at runtime (plain JavaScript callers)', () => {
    expect(declare({ valueType: 'strng' } as never)).toThrow(/valueType "strng" is not one of "string" \| "number"/);
    expect(declare({ valueType: 'string', type: 'int' } as never)).toThrow(/column type "int" cannot hold an envelope; use one of text, varchar/);
    expect(declare({ valueType: 'string', bogus: 1 } as never)).toThrow(/@Encrypted has no option "bogus"; it takes type, length/);
    expect(declare({ valueType: 'string', bindRow: 'yes' } as never)).toThrow(/bindRow must be true or false/);
    expect(declare({ valueType: 'string', scope: 'tenant id' })).toThrow(/scope must name a property of the entity/);
    expect(declare({ valueType: 'string', scope: 'tenantId', index: true })).toThrow(/a field with a scope cannot have a blind index/);
    expect(declare({ valueType: 'string', scope: 'tenantId', bindRow: true })).not.toThrow();
  });

  it.each(['default', 'unique', 'primary', 'transformer', 'array'])('refuses the column option %s', (option) => {
    expect(declare({ valueType: 'string', [option]: true } as never)).toThrow(new RegExp(`does not take option "${option}"`));
  });

  it('reports a column too short for its envelope at declaration, with the length it needs', () => {
    expect(declare({ type: 'varchar', length: 50, valueType: 'string' })).toThrow(
      `SEALED_CONFIG: Account.secret: column varchar(50) is too short: the smallest sealed string takes ${sealedLength(0)} characters and a 64-byte value takes ${sealedLength(64)}`,
    );
    expect(declare({ type: 'varchar', length: sealedLength(0), valueType: 'string' })).not.toThrow();
    expect(declare({ type: 'varchar', length: sealedLength(0), valueType: 'number' })).toThrow(/smallest sealed number takes/);
  });
});
