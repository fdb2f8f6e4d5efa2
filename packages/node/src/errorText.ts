import { AgoraError } from '@agora/sdk';

/** An error's sdk code (`AuditCourtDrawTooEarly`, …), for logs and decisions; undefined for other errors. */
export const errorCode = (err: unknown): string | undefined => (err instanceof AgoraError ? err.code : undefined);

/** An error's one-line message for logs: the sdk's short message, else the error's own. */
export const errorMessage = (err: unknown): string => (err instanceof AgoraError ? err.shortMessage : ((err as Error | undefined)?.message ?? String(err)));
