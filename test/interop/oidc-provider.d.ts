/**
 * The few parts of oidc-provider 9 that the interop test uses. The package ships no types and
 * @types/oidc-provider is not a dependency; this keeps the test type-checked without `any`.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ProviderClient {
    readonly clientId: string;
  }

  export interface IdTokenInstance {
    scope: string;
    issue(options: { readonly use: 'idtoken' }): Promise<string>;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Readonly<Record<string, unknown>>);
    readonly issuer: string;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    readonly Client: { find(clientId: string): Promise<ProviderClient | undefined> };
    readonly IdToken: new (
      claims: Readonly<Record<string, unknown>>,
      context: { readonly client: ProviderClient },
    ) => IdTokenInstance;
  }

  export const errors: {
    readonly InvalidTarget: new (description?: string) => Error;
  };
}
