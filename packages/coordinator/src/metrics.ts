/**
 * Prometheus metrics of a coordinator, all named `pfedlora_coordinator_*`.
 *
 * They are attached from outside: counters and histograms follow the
 * Coordinator's own events ('round-closed', 'round-retry', 'client-joined')
 * plus a few the gRPC service emits on the coordinator for what the state
 * machine never sees (bytes on the wire, refused calls); gauges read
 * `coordinator.status()` when scraped, so they are never stale and the
 * state machine carries no metrics code. A coordinator without metrics
 * attached pays one listener-less emit per event.
 */
import { Counter, Gauge, Histogram, type Registry } from '@pfedlora/telemetry';
import { RUN_PHASES } from '@pfedlora/protocol';
import type { Coordinator } from './coordinator';
import type { RoundRecord } from './ledger';

/** The event the service emits on its Coordinator for metrics (see noteServiceMetric). */
export const SERVICE_METRIC_EVENT = 'service-metric';

/** What the service reports that the coordinator's own events do not show. */
export type ServiceMetricEvent =
  /** An upload passed every check and was folded into the round. */
  | { readonly kind: 'upload-accepted' }
  /** A call ended with an error status; `code` is the gRPC status name, e.g. INVALID_ARGUMENT. */
  | { readonly kind: 'rpc-rejected'; readonly rpc: string; readonly code: string }
  /** Payload bytes received in upload chunks (whether or not the upload is accepted later). */
  | { readonly kind: 'bytes-in'; readonly bytes: number }
  /** Payload bytes sent in download chunks. */
  | { readonly kind: 'bytes-out'; readonly bytes: number };

/** Called by the service; a no-op unless metrics are attached to `coordinator`. */
export function noteServiceMetric(coordinator: Coordinator, event: ServiceMetricEvent): void {
  coordinator.emit(SERVICE_METRIC_EVENT, event);
}

export const COORDINATOR_METRICS_PREFIX = 'pfedlora_coordinator_';

// Rounds take seconds (tests, tiny models) to tens of minutes (real clients on CPUs).
const ROUND_SECONDS_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600];
const TRAIN_SECONDS_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200];

export interface CoordinatorMetrics {
  readonly registry: Registry;
  /** Stops following the coordinator and removes its metrics from the registry. */
  detach(): void;
}

/** Registers the coordinator's metrics in `registry` and keeps them up to date. */
export function attachCoordinatorMetrics(coordinator: Coordinator, registry: Registry): CoordinatorMetrics {
  const p = COORDINATOR_METRICS_PREFIX;
  const registers = [registry];
  const names: string[] = [];
  const named = <T extends { name: string }>(config: T): T => {
    names.push(config.name);
    return config;
  };

  const roundsCompleted = new Counter(named({ name: `${p}rounds_completed_total`, help: 'Rounds this coordinator process aggregated and closed.', registers }));
  const roundDuration = new Histogram(named({ name: `${p}round_duration_seconds`, help: 'Wall time of a closed round, from its (last) start to aggregation.', buckets: ROUND_SECONDS_BUCKETS, registers }));
  const roundRetries = new Counter(named({ name: `${p}round_retries_total`, help: 'Round attempts that hit their deadline with too few reports and were retried.', registers }));
  const clientJoins = new Counter(named({ name: `${p}client_joins_total`, help: 'Accepted Join calls, reconnections included.', registers }));
  const updatesAccepted = new Counter(named({ name: `${p}updates_accepted_total`, help: 'Client updates that passed every check and were folded into a round.', registers }));
  const updatesRejected = new Counter(named({ name: `${p}updates_rejected_total`, help: 'Uploads refused, by gRPC status code.', labelNames: ['code'] as const, registers }));
  const rpcRejected = new Counter(named({ name: `${p}rpc_rejected_total`, help: 'Federation calls that ended with an error status, by method and gRPC status code.', labelNames: ['rpc', 'code'] as const, registers }));
  const bytesIn = new Counter(named({ name: `${p}bytes_in_total`, help: 'Payload bytes received in upload chunks (refused uploads included).', registers }));
  const bytesOut = new Counter(named({ name: `${p}bytes_out_total`, help: 'Payload bytes sent in download chunks.', registers }));
  const trainSeconds = new Histogram(named({ name: `${p}client_train_seconds`, help: 'Training time clients reported with their accepted updates, observed when a round closes.', buckets: TRAIN_SECONDS_BUCKETS, registers }));

  new Gauge(named({ name: `${p}clients_connected`, help: 'Clients holding a Subscribe stream now.', registers, collect() { this.set(coordinator.status().connectedClients); } }));
  new Gauge(named({ name: `${p}clients_known`, help: 'Clients that have joined this run (connected or not).', registers, collect() { this.set(coordinator.status().knownClients); } }));
  new Gauge(named({
    name: `${p}last_round_mean_accuracy`,
    help: 'Mean test accuracy clients reported in the last closed round (NaN before the first).',
    registers,
    collect() {
      // NaN, not 0: "no round yet" must not read as "accuracy fell to zero" on a dashboard.
      this.set(coordinator.status().lastMeanAccuracy ?? Number.NaN);
    },
  }));
  new Gauge(named({
    name: `${p}last_round_mean_macro_f1`,
    help: 'Mean test macro-F1 of the last closed round, over the clients that reported one (NaN before the first, or when none did).',
    registers,
    collect() {
      this.set(coordinator.status().lastMeanMacroF1 ?? Number.NaN);
    },
  }));
  new Gauge(named({
    name: `${p}run_phase`,
    help: 'Phase of the run: 1 for the current phase, 0 for the others.',
    labelNames: ['phase'] as const,
    registers,
    collect() {
      const phase = coordinator.status().phase;
      // Every phase is always exported, so `run_phase{phase="paused"} == 1` works as an alert without absent().
      for (const name of RUN_PHASES) this.set({ phase: name }, name === phase ? 1 : 0);
    },
  }));
  new Gauge(named({ name: `${p}run_rounds`, help: 'Rounds the current run is set to run.', registers, collect() { this.set(coordinator.status().roundsTotal); } }));
  new Gauge(named({
    name: `${p}run_rounds_completed`,
    help: 'Rounds of the current run completed so far (a resumed run counts the rounds before the restart).',
    registers,
    collect() {
      this.set(coordinator.status().roundsCompleted);
    },
  }));

  // Pre-create the series a dashboard or an alert expects before the first refusal.
  for (const code of ['INVALID_ARGUMENT', 'FAILED_PRECONDITION', 'ABORTED', 'NOT_FOUND']) updatesRejected.inc({ code }, 0);

  const onRoundClosed = (record: RoundRecord) => {
    roundsCompleted.inc();
    roundDuration.observe(record.seconds);
    for (const c of record.clients) if (c.status === 'reported' && c.trainSeconds !== undefined) trainSeconds.observe(c.trainSeconds);
  };
  const onRoundRetry = () => roundRetries.inc();
  const onClientJoined = () => clientJoins.inc();
  const onService = (event: ServiceMetricEvent) => {
    switch (event.kind) {
      case 'upload-accepted':
        updatesAccepted.inc();
        break;
      case 'rpc-rejected':
        rpcRejected.inc({ rpc: event.rpc, code: event.code });
        if (event.rpc === 'Upload') updatesRejected.inc({ code: event.code });
        break;
      case 'bytes-in':
        bytesIn.inc(event.bytes);
        break;
      case 'bytes-out':
        bytesOut.inc(event.bytes);
        break;
    }
  };
  coordinator.on('round-closed', onRoundClosed);
  coordinator.on('round-retry', onRoundRetry);
  coordinator.on('client-joined', onClientJoined);
  coordinator.on(SERVICE_METRIC_EVENT, onService);

  return {
    registry,
    detach() {
      coordinator.off('round-closed', onRoundClosed);
      coordinator.off('round-retry', onRoundRetry);
      coordinator.off('client-joined', onClientJoined);
      coordinator.off(SERVICE_METRIC_EVENT, onService);
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}
