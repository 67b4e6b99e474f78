/**
 * Servers of the cross-adapter tests: listened on 127.0.0.1, all closed by `closeAll` (afterAll).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Servers started by one test file; `listen` adds to it, `closeAll` empties it. */
export function serverPool() {
  const servers: Server[] = [];
  return {
    async listen(server: Server): Promise<string> {
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async closeAll(): Promise<void> {
      await Promise.all(
        servers.splice(0).map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}
