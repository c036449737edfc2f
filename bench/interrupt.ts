// Brokers a bench starts must not outlive it. Interrupted (Ctrl-C, or SIGTERM from a script or CI),
// a bench stops what it registered here, then exits 130 / 143: a report stopped halfway used to
// leave its Pier running (busy with half a workload, skewing every figure measured after it) and its
// RabbitMQ node suspended by SIGSTOP for good. A second signal exits at once.

export type Cleanup = () => unknown;

const cleanups = new Set<Cleanup>();
let installed = false;
let interrupted = false;
/** How long the cleanups may take before the bench exits anyway. */
const CLEANUP_TIMEOUT_MS = 20_000;

/** Runs `cleanup` if the bench is interrupted; returns a function that unregisters it. */
export function stopOnInterrupt(cleanup: Cleanup): () => void {
  if (!installed) {
    installed = true;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void interrupt(signal));
  }
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

async function interrupt(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  const code = signal === 'SIGINT' ? 130 : 143;
  if (interrupted) process.exit(code);
  interrupted = true;
  process.stderr.write(
    `\n${signal}: stopping the brokers this bench started (send it again to exit at once)\n`,
  );
  setTimeout(() => {
    process.stderr.write(`cleanup did not finish within ${CLEANUP_TIMEOUT_MS / 1000} s; exiting\n`);
    process.exit(code);
  }, CLEANUP_TIMEOUT_MS).unref();
  await Promise.allSettled([...cleanups].map(async (cleanup) => cleanup()));
  process.exit(code);
}
