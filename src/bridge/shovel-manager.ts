/**
 * The running shovels: one per `shovel` runtime parameter. Composition starts it after the
 * listeners are bound (local endpoints connect to them) and forwards every parameter change;
 * status() is what `pier shovel status` and /api/shovels show.
 */
import type { LocalListeners } from './endpoint.js';
import { Shovel, type ShovelStatus } from './shovel.js';
import { parseShovelDefinition } from './shovel-definition.js';

export class ShovelManager {
  private readonly shovels = new Map<string, Shovel>();
  private closed = false;

  constructor(
    private readonly local: LocalListeners,
    private readonly log: (line: string) => void,
    /** Removes a finished shovel's definition (src-delete-after), as RabbitMQ's shovel does. */
    private readonly remove: (vhost: string, name: string) => void,
  ) {}

  /** Starts, restarts (a changed definition) or stops (value undefined) one shovel. */
  async apply(vhost: string, name: string, value: unknown): Promise<void> {
    if (this.closed) return;
    const key = `${vhost}\0${name}`;
    const previous = this.shovels.get(key);
    this.shovels.delete(key);
    await previous?.stop();
    if (value === undefined) return;
    const shovel = new Shovel(parseShovelDefinition(vhost, name, value), this.local, this.log, (done) => {
      if (this.shovels.get(key) !== done) return;
      this.log(`shovel '${name}' in vhost '${vhost}' reached src-delete-after: removing it`);
      this.remove(vhost, name);
    });
    this.shovels.set(key, shovel);
    shovel.start();
  }

  status(vhost?: string): ShovelStatus[] {
    return [...this.shovels.values()]
      .map((s) => s.status())
      .filter((s) => vhost === undefined || s.vhost === vhost)
      .sort((a, b) => (a.vhost + a.name < b.vhost + b.name ? -1 : 1));
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.shovels.values()];
    this.shovels.clear();
    await Promise.all(all.map((s) => s.stop()));
  }
}
