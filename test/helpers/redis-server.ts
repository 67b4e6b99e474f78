/**
 * A real `redis-server` on 127.0.0.1 for the tests: a free port, no persistence, started and
 * stopped by the test (kill, then restart on the same port, for the outage tests).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import { createClient } from 'redis';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL: an outage, not a shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Stops it for good (afterAll). */
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once `PING` answers `+PONG` on the port, within `limitMs`. */
async function waitForPong(port: number, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(200, () => done(false));
      socket.once('error', () => done(false));
      socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
      socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    });
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server did not answer on port ${port} within ${limitMs} ms`);
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;

  const start = async () => {
    child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
      ],
      { stdio: 'ignore' },
    );
    await waitForPong(port, 5000);
  };
  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: stop,
    restart: start,
    close: stop,
  };
}

function makeClient(url: string) {
  return createClient({ url, socket: { reconnectStrategy: () => 50, connectTimeout: 1000 } });
}

export type TestRedisClient = ReturnType<typeof makeClient>;

/**
 * A connected node-redis client with an 'error' listener (errors are collected, not thrown) and a
 * fast reconnect, so recovery tests do not wait long.
 */
export async function connectClient(url: string): Promise<{ client: TestRedisClient; errors: unknown[] }> {
  const errors: unknown[] = [];
  const client = makeClient(url);
  client.on('error', (error: unknown) => errors.push(error));
  await client.connect();
  return { client, errors };
}

/** Closes a client whatever its state. */
export async function disconnect(client: TestRedisClient): Promise<void> {
  try {
    if (client.isOpen) client.destroy();
  } catch {}
}
