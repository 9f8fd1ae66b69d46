/**
 * The two functions of `node:crypto` (workerd's, under `nodejs_compat`) that signing file links
 * uses. The project has no @types/node: its globals (Buffer, timers returning objects) would clash
 * with the Workers types, so only what is used is declared.
 */
declare module "node:crypto" {
  interface Hmac {
    update(data: string | Uint8Array): Hmac;
    digest(): Uint8Array;
    digest(encoding: "base64url" | "hex"): string;
  }
  export function createHmac(algorithm: "sha256", key: string | Uint8Array): Hmac;
  export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
}
