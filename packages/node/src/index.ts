// Public entry point of @agora/node: the daemon and the local devnet.
export * from './devnet/anvil.ts';
export * from './devnet/devAccounts.ts';
export * from './devnet/startDevnet.ts';
