/**
 * A key scope as the key vault stores it (`@Encrypted({ scope })` values, `sealed_data_keys.scope`):
 * at most 191 characters, none of them a control character (C0, DEL or C1), so that it prints
 * safely and fits an indexed varchar on every database. `''` is the default scope.
 */
export const SCOPE = /^[^\u0000-\u001f\u007f-\u009f]{0,191}$/;
