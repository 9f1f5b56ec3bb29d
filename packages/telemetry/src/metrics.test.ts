/** The metrics endpoint over real HTTP on 127.0.0.1. */
import { request } from 'node:http';
import { Counter, createMetricsRegistry, startMetricsServer, type MetricsServer } from './metrics';
import { silentLogger } from './index';

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

function get(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metrics server', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('serves /metrics in Prometheus text format, /healthz, and 404 elsewhere', async () => {
    const registry = createMetricsRegistry();
    const hits = new Counter({ name: 'pfedlora_test_hits_total', help: 'test counter', labelNames: ['kind'], registers: [registry] });
    hits.inc({ kind: 'a' }, 3);
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, log: silentLogger() });
    expect(server.port).toBeGreaterThan(0);

    const metrics = await get(server.port, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toBe(registry.contentType);
    expect(metrics.body).toContain('# TYPE pfedlora_test_hits_total counter');
    expect(metrics.body).toMatch(/^pfedlora_test_hits_total\{kind="a"\} 3$/m);
    // Default process metrics carry the pfedlora_ prefix.
    expect(metrics.body).toMatch(/^pfedlora_process_cpu_user_seconds_total /m);

    expect(await get(server.port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await get(server.port, '/nope')).status).toBe(404);
    expect((await get(server.port, '/metrics', 'POST')).status).toBe(405);
  });

  test('registries are independent: same metric name in two registries, no global default', async () => {
    const a = createMetricsRegistry({ defaultMetrics: false });
    const b = createMetricsRegistry({ defaultMetrics: false, labels: { client_id: 'c2' } });
    new Counter({ name: 'pfedlora_test_twice_total', help: 'x', registers: [a] }).inc(1);
    new Counter({ name: 'pfedlora_test_twice_total', help: 'x', registers: [b] }).inc(2);
    expect(await a.metrics()).toMatch(/^pfedlora_test_twice_total 1$/m);
    expect(await b.metrics()).toMatch(/^pfedlora_test_twice_total\{client_id="c2"\} 2$/m);
  });

  test('a port in use is an error at start, with the address in the message', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, log: silentLogger() });
    await expect(startMetricsServer({ host: '127.0.0.1', port: server.port, registry, log: silentLogger() })).rejects.toThrow(`metrics: cannot listen on 127.0.0.1:${server.port}`);
  });

  test('close() returns while a keep-alive scraper holds a connection', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, log: silentLogger() });
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server!.port, path: '/healthz', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
    const started = Date.now();
    await server.close();
    // Not waiting out the 5 s keep-alive of the open connection (a behaviour, with room for a loaded machine).
    expect(Date.now() - started).toBeLessThan(4_500);
    agent.destroy();
  });
});
