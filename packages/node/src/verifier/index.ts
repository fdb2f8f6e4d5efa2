// Audit re-execution: exact (equal output hashes) and tolerance (per-token scores) verification.
export * from './verificationResult.ts';
export * from './verifyExact.ts';
export * from './verifyTolerance.ts';
export * from './verifyLlamaOutput.ts';
export * from './verifyReceipt.ts';
