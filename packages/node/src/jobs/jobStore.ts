import type { Address, Hex } from 'viem';
import { openDurableDatabase } from '../store/openDurableDatabase.ts';

/**
 * Where a job stands for this provider. `open` (seen, not decided), `accepted` (ours, not yet
 * delivered: re-run after a restart), `delivered` (waiting for the challenge window), then one
 * of the final states.
 */
export type WatchedJobState = 'open' | 'accepted' | 'delivered' | 'finalized' | 'failed' | 'skipped' | 'lost' | 'closed';

/** A job the watcher has seen, as the JobOpened event announced it plus what this provider did. */
export type WatchedJob = {
  jobId: bigint;
  buyer: Address;
  modelId: Hex;
  inputHash: Hex;
  inputURI: string;
  maxPrice: bigint;
  /** Zero when any provider may take it. */
  provider: Address;
  deadline: bigint;
  state: WatchedJobState;
  outputHash: Hex | undefined;
  /** Chain time of the delivery, seconds. */
  deliveredAt: bigint | undefined;
  errorCode: number | undefined;
  /** Why the job is in its state (skipped because…, failed because…). */
  note: string | undefined;
  updatedAt: number;
};

export type JobStoreInit = {
  /** SQLite file; `:memory:` for tests that do not need durability. */
  path: string;
};

type Row = {
  job_id: string;
  buyer: string;
  model_id: string;
  input_hash: string;
  input_uri: string;
  max_price: string;
  provider: string;
  deadline: string;
  state: WatchedJobState;
  output_hash: string | null;
  delivered_at: string | null;
  error_code: number | null;
  note: string | null;
  updated_at: number;
};

/**
 * The provider's durable record of slow-path jobs: the next block to read JobOpened events from,
 * and each job's state. Events and the cursor are written in one transaction, so a restart neither
 * misses a job nor takes one twice; accepted jobs stay `accepted` until delivered or failed, so a
 * crash mid-job is resumed, never dropped. WAL with `synchronous = FULL`, like the voucher store.
 *
 * @example
 * const jobs = openJobStore({ path: join(stateDir, 'jobs.db') })
 * jobs.recordOpened(events, head + 1n)
 * for (const job of jobs.list(['accepted'])) …
 */
export function openJobStore(init: JobStoreInit) {
  const db = openDurableDatabase(init.path);
  db.exec(`
    CREATE TABLE IF NOT EXISTS job_cursor (
      id         INTEGER PRIMARY KEY CHECK (id = 1),
      next_block TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS jobs (
      job_id       TEXT PRIMARY KEY,
      buyer        TEXT NOT NULL,
      model_id     TEXT NOT NULL,
      input_hash   TEXT NOT NULL,
      input_uri    TEXT NOT NULL,
      max_price    TEXT NOT NULL,
      provider     TEXT NOT NULL,
      deadline     TEXT NOT NULL,
      state        TEXT NOT NULL,
      output_hash  TEXT,
      delivered_at TEXT,
      error_code   INTEGER,
      note         TEXT,
      updated_at   INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state);
  `);
  const getCursor = db.prepare<[], { next_block: string }>('SELECT next_block FROM job_cursor WHERE id = 1');
  const setCursor = db.prepare('INSERT INTO job_cursor (id, next_block) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET next_block = excluded.next_block');
  const insert = db.prepare(
    `INSERT OR IGNORE INTO jobs (job_id, buyer, model_id, input_hash, input_uri, max_price, provider, deadline, state, updated_at)
     VALUES (@jobId, @buyer, @modelId, @inputHash, @inputURI, @maxPrice, @provider, @deadline, 'open', @now)`,
  );
  const select = db.prepare<[string], Row>('SELECT * FROM jobs WHERE job_id = ?');
  const update = db.prepare(
    `UPDATE jobs SET state = @state, output_hash = COALESCE(@outputHash, output_hash), delivered_at = COALESCE(@deliveredAt, delivered_at),
       error_code = COALESCE(@errorCode, error_code), note = @note, updated_at = @now WHERE job_id = @jobId`,
  );

  const toJob = (row: Row): WatchedJob => ({
    jobId: BigInt(row.job_id),
    buyer: row.buyer as Address,
    modelId: row.model_id as Hex,
    inputHash: row.input_hash as Hex,
    inputURI: row.input_uri,
    maxPrice: BigInt(row.max_price),
    provider: row.provider as Address,
    deadline: BigInt(row.deadline),
    state: row.state,
    outputHash: (row.output_hash ?? undefined) as Hex | undefined,
    deliveredAt: row.delivered_at === null ? undefined : BigInt(row.delivered_at),
    errorCode: row.error_code ?? undefined,
    note: row.note ?? undefined,
    updatedAt: row.updated_at,
  });

  const recordOpened = db.transaction(
    (jobs: Pick<WatchedJob, 'jobId' | 'buyer' | 'modelId' | 'inputHash' | 'inputURI' | 'maxPrice' | 'provider' | 'deadline'>[], nextBlock: bigint) => {
      const now = Date.now();
      for (const job of jobs) {
        insert.run({
          ...job,
          jobId: job.jobId.toString(),
          maxPrice: job.maxPrice.toString(),
          deadline: job.deadline.toString(),
          now,
        });
      }
      setCursor.run(nextBlock.toString());
    },
  );

  return {
    /** The next block to read events from, or undefined before the first read. */
    getCursor(): bigint | undefined {
      const row = getCursor.get();
      return row ? BigInt(row.next_block) : undefined;
    },
    /** Records newly seen jobs (as `open`; known ones are left alone) and moves the cursor, atomically. */
    recordOpened,
    get(jobId: bigint): WatchedJob | undefined {
      const row = select.get(jobId.toString());
      return row ? toJob(row) : undefined;
    },
    /** Jobs in any of `states`, oldest id first. */
    list(states: WatchedJobState[]): WatchedJob[] {
      const rows = db.prepare<string[], Row>(`SELECT * FROM jobs WHERE state IN (${states.map(() => '?').join(',')})`).all(...states);
      return rows.map(toJob).sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
    },
    /** Moves a job to `state`, recording what came with it. */
    setState(
      jobId: bigint,
      state: WatchedJobState,
      fields: { outputHash?: Hex; deliveredAt?: bigint; errorCode?: number; note?: string } = {},
    ): void {
      update.run({
        jobId: jobId.toString(),
        state,
        outputHash: fields.outputHash ?? null,
        deliveredAt: fields.deliveredAt?.toString() ?? null,
        errorCode: fields.errorCode ?? null,
        note: fields.note ?? null,
        now: Date.now(),
      });
    },
    close(): void {
      db.close();
    },
  };
}

export type JobStore = ReturnType<typeof openJobStore>;
