export { ApiRole, type ApiSecrets } from './ApiRole.ts';
export { MAuthVerifier, buildMAuthHeader, mauthSignature, parseMAuthHeader, MAUTH_REALM } from './mauth.ts';
export { Webhooks, webhookSignature, SIGNATURE_HEADER } from './Webhooks.ts';
export { openApiDocument } from './openapi.ts';
