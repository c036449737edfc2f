/**
 * Waits that must end when their connection closes (Produce waiting for the disk, Fetch long
 * polls). KafkaSession.onClose listeners cannot be removed, so each session gets one listener that
 * runs the waits registered at that moment; a finished wait unregisters itself.
 */
import type { KafkaSession } from './kafka-api.js';

const waitsBySession = new WeakMap<KafkaSession, Set<() => void>>();

/** Calls `onClose` if the session closes before the returned function is called. */
export function untilSessionCloses(session: KafkaSession, onClose: () => void): () => void {
  let waits = waitsBySession.get(session);
  if (!waits) {
    const created = new Set<() => void>();
    waits = created;
    waitsBySession.set(session, created);
    session.onClose(() => {
      for (const cancel of [...created]) cancel();
      created.clear();
    });
  }
  waits.add(onClose);
  const registered = waits;
  return () => {
    registered.delete(onClose);
  };
}
