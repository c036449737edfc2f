import type { Server } from 'node:net';

/** Binds a server; resolves with the bound address, rejects with the listen error (e.g. EADDRINUSE). */
export function listen(
  server: Server,
  host: string,
  port: number,
  what: string,
): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      const address = server.address();
      if (address && typeof address === 'object') resolve({ host: address.address, port: address.port });
      else reject(new Error(`${what} listener has no address`));
    });
  });
}
