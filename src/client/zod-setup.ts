import { config } from "zod";

// Imported first by main.ts: zod compiles object parsers with `new Function` unless told not to,
// and the page's Content-Security-Policy has no 'unsafe-eval' (zod's own probe for it would be
// reported as a CSP violation). Schemas read this flag when they are built, at import time.
config({ jitless: true });
