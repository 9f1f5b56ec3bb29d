/**
 * A TCP proxy between a client process and the coordinator, so that a test
 * can cut one client's link (every connection reset, new ones refused) and
 * restore it, with the processes left as they are: the link, not the process,
 * goes away.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private down = false;

  private constructor(private readonly server: Server, readonly port: number) {}

  /** Listens on a free port of 127.0.0.1 and forwards each connection to `target` (host:port). */
  static async start(target: string): Promise<TcpProxy> {
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    let proxy: TcpProxy | undefined;
    const server = createServer((inbound) => {
      if (!proxy || proxy.down) return void inbound.destroy();
      const outbound = connect(port, host);
      for (const [from, to] of [[inbound, outbound], [outbound, inbound]] as const) {
        proxy.sockets.add(from);
        from.pipe(to);
        from.on('error', () => to.destroy());
        from.on('close', () => {
          proxy!.sockets.delete(from);
          to.destroy();
        });
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('proxy: no port');
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Resets every connection through the proxy and refuses new ones until restore(). */
  cut(): void {
    this.down = true;
    for (const s of [...this.sockets]) s.resetAndDestroy();
  }

  restore(): void {
    this.down = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
