/**
 * The small part of ltijs 5.9 that src/lti/provider.ts uses. (@types/ltijs describes the 4.x API
 * and lacks devMode, ltiaas, tokenMaxAge and dynReg, so we declare what we call ourselves.)
 */
declare module 'ltijs' {
  import type { RequestHandler } from 'express';

  interface LtijsPlatform {
    platformUrl(): Promise<string>;
    platformClientId(): Promise<string>;
    platformName(): Promise<string>;
    platformKid(): Promise<string>;
    platformActive(active?: boolean): Promise<boolean>;
    platformPublicKey(): Promise<string>;
    platformAuthConfig(): Promise<{ method: string; key: string }>;
    platformAuthEndpoint(): Promise<string>;
    platformAccessTokenEndpoint(): Promise<string>;
    /** The aud of client assertions: the authorization server, else the token URL. */
    platformAuthorizationServer(): Promise<string>;
    /** The tool's private key for this platform (PEM), decrypted. */
    platformPrivateKey(): Promise<string>;
    platformAccessToken(scopes: string): Promise<{ access_token: string; token_type: string; expires_in: number; scope?: string }>;
    delete(): Promise<boolean>;
  }

  interface LtijsProvider {
    app: RequestHandler & { use: (...args: unknown[]) => void };
    setup(key: string, db: { url: string; connection?: Record<string, unknown> }, options: Record<string, unknown>): LtijsProvider;
    deploy(options: { serverless: boolean; silent: boolean }): Promise<boolean>;
    close(options?: { silent: boolean }): Promise<boolean>;
    /** Called with ltijs's own token after a launch ltijs handled itself (only bench/ltijs-peer.ts: the tool's launches are its own). */
    onConnect(cb: (token: any, req: any, res: any) => unknown): void;
    onInvalidToken(cb: (req: any, res: any, next: any) => unknown): void;
    onSessionTimeout(cb: (req: any, res: any, next: any) => unknown): void;
    onUnregisteredPlatform(cb: (req: any, res: any, next: any) => unknown): void;
    onInactivePlatform(cb: (req: any, res: any, next: any) => unknown): void;
    registerPlatform(p: {
      url: string; name: string; clientId: string; authenticationEndpoint: string; accesstokenEndpoint: string;
      authorizationServer?: string; authConfig: { method: 'JWK_SET' | 'RSA_KEY' | 'JWK_KEY'; key: string };
    }): Promise<LtijsPlatform>;
    getPlatform(url: string): Promise<LtijsPlatform[] | false>;
    getPlatform(url: string, clientId: string): Promise<LtijsPlatform | false>;
    getAllPlatforms(): Promise<LtijsPlatform[]>;
    DeepLinking: {
      createDeepLinkingMessage(idtoken: unknown, items: unknown[], options?: Record<string, string>): Promise<string>;
    };
  }

  export const Provider: LtijsProvider;
}
