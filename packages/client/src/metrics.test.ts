/** Client metrics: what a daemon's sequence of reports leaves in the registry. */
import { createMetricsRegistry } from '@pfedlora/telemetry';
import { ClientMetrics } from './metrics';

async function series(metrics: ClientMetrics): Promise<(name: string) => number | undefined> {
  const values = new Map<string, number>();
  for (const line of (await metrics.registry.metrics()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return (name) => values.get(name);
}

describe('client metrics', () => {
  test('start state: disconnected, nothing counted, accuracy not measured yet', async () => {
    const m = await series(new ClientMetrics(createMetricsRegistry({ defaultMetrics: false })));
    expect(m('pfedlora_client_connected')).toBe(0);
    expect(m('pfedlora_client_rounds_trained_total')).toBe(0);
    expect(m('pfedlora_client_reconnects_total')).toBe(0);
    expect(m('pfedlora_client_bytes_down_total')).toBe(0);
    expect(m('pfedlora_client_bytes_up_total')).toBe(0);
    expect(m('pfedlora_client_train_seconds_count')).toBe(0);
    expect(m('pfedlora_client_last_accuracy')).toBeNaN();
  });

  test('join, a round with a broken download, a lost connection, a rejoin and a second round', async () => {
    const metrics = new ClientMetrics(createMetricsRegistry({ defaultMetrics: false, labels: { client_id: 'c7' } }));
    metrics.joined();
    let m = await series(metrics);
    expect(m('pfedlora_client_connected{client_id="c7"}')).toBe(1);
    expect(m('pfedlora_client_reconnects_total{client_id="c7"}')).toBe(0);

    // Round 1: the download breaks after 1000 bytes and resumes for the other 3000.
    metrics.downloaded(1000);
    metrics.downloaded(0);
    metrics.downloaded(3000);
    metrics.trained(2.5, 0.8);
    metrics.uploaded(16_000);
    metrics.disconnected();
    m = await series(metrics);
    expect(m('pfedlora_client_connected{client_id="c7"}')).toBe(0);
    expect(m('pfedlora_client_bytes_down_total{client_id="c7"}')).toBe(4000);

    // Round 2 after a reconnection; its update is refused (trained, but nothing acknowledged).
    metrics.joined();
    metrics.downloaded(4000);
    metrics.trained(0.4, 0.85);
    m = await series(metrics);
    expect(m('pfedlora_client_connected{client_id="c7"}')).toBe(1);
    expect(m('pfedlora_client_reconnects_total{client_id="c7"}')).toBe(1);
    expect(m('pfedlora_client_rounds_trained_total{client_id="c7"}')).toBe(2);
    expect(m('pfedlora_client_updates_accepted_total{client_id="c7"}')).toBe(1);
    expect(m('pfedlora_client_bytes_down_total{client_id="c7"}')).toBe(8000);
    expect(m('pfedlora_client_bytes_up_total{client_id="c7"}')).toBe(16_000);
    expect(m('pfedlora_client_last_accuracy{client_id="c7"}')).toBeCloseTo(0.85, 6);
    expect(m('pfedlora_client_train_seconds_count{client_id="c7"}')).toBe(2);
    expect(m('pfedlora_client_train_seconds_sum{client_id="c7"}')).toBeCloseTo(2.9, 6);
    expect(m('pfedlora_client_train_seconds_bucket{le="0.5",client_id="c7"}')).toBe(1);
    expect(m('pfedlora_client_train_seconds_bucket{le="5",client_id="c7"}')).toBe(2);
  });

  test('two daemons in one process keep separate registries', async () => {
    const a = new ClientMetrics(createMetricsRegistry({ defaultMetrics: false }));
    const b = new ClientMetrics(createMetricsRegistry({ defaultMetrics: false }));
    a.trained(1, 0.5);
    expect((await series(a))('pfedlora_client_rounds_trained_total')).toBe(1);
    expect((await series(b))('pfedlora_client_rounds_trained_total')).toBe(0);
  });
});
