/**
 * Prometheus metrics of a client daemon, all named `pfedlora_client_*`.
 *
 * The daemon only sees the small ClientMetricsSink interface (optional, so
 * library users and tests pay nothing); ClientMetrics implements it over a
 * registry the caller owns and serves.
 */
import { Counter, Gauge, Histogram, type Registry } from '@pfedlora/telemetry';

/** What the daemon reports, at the points where it happens. */
export interface ClientMetricsSink {
  /** A Join succeeded (the first one, or a reconnection after it). */
  joined(): void;
  /** The session ended: the Subscribe stream closed or the join failed. */
  disconnected(): void;
  /** Payload bytes of the global adapter received (one download attempt, partial ones included). */
  downloaded(bytes: number): void;
  /** Local training and evaluation of one round finished. */
  trained(trainSeconds: number, accuracy: number): void;
  /** The coordinator acknowledged an update of `bytes` payload bytes. */
  uploaded(bytes: number): void;
}

export const CLIENT_METRICS_PREFIX = 'pfedlora_client_';

const TRAIN_SECONDS_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200];

export class ClientMetrics implements ClientMetricsSink {
  private readonly roundsTrained: Counter;
  private readonly trainSeconds: Histogram;
  private readonly accuracy: Gauge;
  private readonly bytesDown: Counter;
  private readonly bytesUp: Counter;
  private readonly updatesAccepted: Counter;
  private readonly reconnects: Counter;
  private readonly connected: Gauge;
  private joins = 0;

  constructor(readonly registry: Registry) {
    const p = CLIENT_METRICS_PREFIX;
    const registers = [registry];
    this.roundsTrained = new Counter({ name: `${p}rounds_trained_total`, help: 'Rounds this client trained locally (its update may still be refused or late).', registers });
    this.trainSeconds = new Histogram({ name: `${p}train_seconds`, help: 'Local training plus evaluation time of a round.', buckets: TRAIN_SECONDS_BUCKETS, registers });
    this.accuracy = new Gauge({ name: `${p}last_accuracy`, help: "Accuracy of the personalized model on this client's own test split after its last round (NaN before the first).", registers });
    // NaN, not 0, until a round is trained: "not yet measured" must not read as "accuracy zero".
    this.accuracy.set(Number.NaN);
    this.bytesDown = new Counter({ name: `${p}bytes_down_total`, help: 'Global payload bytes downloaded from the coordinator.', registers });
    this.bytesUp = new Counter({ name: `${p}bytes_up_total`, help: 'Update payload bytes the coordinator acknowledged.', registers });
    this.updatesAccepted = new Counter({ name: `${p}updates_accepted_total`, help: 'Updates the coordinator acknowledged.', registers });
    this.reconnects = new Counter({ name: `${p}reconnects_total`, help: 'Joins after the first one (coordinator restarts, broken links, silence).', registers });
    this.connected = new Gauge({ name: `${p}connected`, help: '1 while the client has a session with the coordinator, else 0.', registers });
    this.connected.set(0);
  }

  joined(): void {
    if (this.joins++ > 0) this.reconnects.inc();
    this.connected.set(1);
  }

  disconnected(): void {
    this.connected.set(0);
  }

  downloaded(bytes: number): void {
    if (bytes > 0) this.bytesDown.inc(bytes);
  }

  trained(trainSeconds: number, accuracy: number): void {
    this.roundsTrained.inc();
    this.trainSeconds.observe(trainSeconds);
    this.accuracy.set(accuracy);
  }

  uploaded(bytes: number): void {
    this.updatesAccepted.inc();
    this.bytesUp.inc(bytes);
  }
}
