/**
 * Queries of this library itself (the rotator compares envelopes) end with this comment, so the
 * query guard lets them through. At the end, not the start: TypeORM 0.3's sqlite driver tells an
 * UPDATE by its first word.
 */
export const INTERNAL_QUERY_MARKER = '/* typeorm-sealed */';
