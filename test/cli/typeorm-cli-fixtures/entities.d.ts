/** Types of entities.js, for the TypeScript test that shares it. */
export declare class Customer {
  id: number;
  name: string;
  phone: string;
}
