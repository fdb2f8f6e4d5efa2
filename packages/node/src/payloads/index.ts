// Content-addressed payloads of the slow path: store, HTTP route, size-limited fetch, job formats.
export * from './payloadStore.ts';
export * from './payloadRoutes.ts';
export * from './fetchPayload.ts';
export * from './jobPayload.ts';
