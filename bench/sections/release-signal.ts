/**
 * The release signal's cost per million beacons, this design against the previous one (the
 * metrics API that made a PutMetricData call per beacon), and what the metrics API's core takes
 * per beacon. Measured here: the core's time (real code, in-memory ledger), and the bytes of the
 * EMF line Powertools writes for a counted viewer. Priced: everything else, from prices.ts.
 */
import { ROLES } from '../../contracts/release-signal';
import { assignBuild } from '../../contracts/assignment';
import { beaconSettingsFrom, handleBeacon, originSecretHash, type BeaconDependencies, type BeaconRequest } from '../../regional-function/metrics-api/core';
import { MemoryViewerLedger } from '../../regional-function/metrics-api/viewer-ledger';
import { addCountedViewer, functionMetrics, takeMetrics } from '../../regional-function/shared/observability';
import { distribution, round, timeCalls, timerOverheadNs } from '../measure';
import { BEACONS, PRICES, PRICES_READ, priceOf } from '../prices';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';

const BEACONS_PER_RUN = 1_000_000;
const SECRET = 'bench-origin-secret';
const STABLE = '0123456789abcdef';
const CANARY = 'fedcba9876543210';

export const releaseSignal: BenchSection = {
  id: 'release-signal',
  title: 'Release signal: cost per million beacons (USD), and the metrics API per beacon',
  async run(context: BenchContext): Promise<SectionResult> {
    const { config, quick } = context;
    const calls = quick ? 2_000 : 100_000;
    const state = { stable: STABLE, canary: CANARY, weight: 2500, salt: 'd-BENCH', ring: [] };
    const settings = beaconSettingsFrom({
      ALLOWED_ORIGINS: JSON.stringify(config.metrics.allowedOrigins),
      MAX_BATCH: String(config.metrics.maxBatch),
      ORIGIN_SECRET_SHA256: JSON.stringify([originSecretHash(SECRET)]),
      PERIOD_SECONDS: String(config.alarms.periodSeconds),
    });
    const deps: BeaconDependencies = { state: async () => state, ledger: new MemoryViewerLedger(), now: () => 1_800_000_000_000 };
    const viewers = Array.from({ length: 4096 }, (_, i) => `10.${i >> 8}.${i & 255}.7`);
    const request = (ip: string, buildId: string): BeaconRequest => ({
      method: 'POST',
      headers: { origin: 'http://127.0.0.1:8081', 'content-type': 'text/plain;charset=UTF-8', 'x-origin-verify': SECRET, 'cloudfront-viewer-address': `${ip}:443` },
      body: JSON.stringify({ v: 1, buildId, events: [{ name: 'load' }] }),
      isBase64Encoded: false,
    });
    const own = viewers.map((ip) => request(ip, assignBuild(state, ip, null)));
    const forged = viewers.map((ip) => request(ip, assignBuild(state, ip, null) === CANARY ? STABLE : CANARY));
    context.log(`release-signal: the metrics API's core, ${calls.toLocaleString('en')} beacons per kind`);
    const overheadUs = (await timerOverheadNs(quick ? 0.05 : 1)) / 1000;
    const time = async (requests: readonly BeaconRequest[]) => distribution(await timeCalls((i) => handleBeacon(requests[i % requests.length], settings, deps), calls));
    await time(own); // warm-up, and every viewer seen once: what follows are repeats
    const repeat = await time(own);
    const rejected = await time(forged);

    // The EMF line of one counted viewer (the largest: viewer and erroring viewer at once).
    const metrics = functionMetrics(config.metrics.namespace, 'metrics-api');
    addCountedViewer(metrics, { role: 'canary', buildId: CANARY, newViewer: true, newErroring: true }, Date.now());
    const emfBytes = Buffer.byteLength(`${JSON.stringify(takeMetrics(metrics))}\n`);

    const gb = 256 / 1024; // RegionalFunction's default memory
    const lambda = priceOf(PRICES.lambdaRequest, BEACONS_PER_RUN) + priceOf(PRICES.lambdaGbSecond, (BEACONS_PER_RUN * BEACONS.billedMsPerBeacon * gb) / 1000);
    const apiGateway = priceOf(PRICES.httpApiRequest, BEACONS_PER_RUN);
    const logs = (bytes: number) => priceOf(PRICES.logsIngestionGb, (BEACONS_PER_RUN * bytes) / 1e9);
    const current = {
      apiGateway,
      lambda,
      dynamodb: priceOf(PRICES.dynamoWrite, BEACONS_PER_RUN),
      metrics: 0,
      logs: logs(BEACONS.lambdaLogBytesPerInvocation + BEACONS.firstSightingShare * emfBytes),
    };
    const previous = { apiGateway, lambda, dynamodb: 0, metrics: priceOf(PRICES.putMetricData, BEACONS_PER_RUN), logs: logs(BEACONS.lambdaLogBytesPerInvocation) };
    const total = (parts: Record<string, number>) => Object.values(parts).reduce((a, b) => a + b, 0);
    // Fixed per month: the metrics themselves, and the state copy's reads.
    const metricCount = 2 * (ROLES.length + 1) + 1; // Viewers and ErroringViewers for canary, stable and ring; RolloutWeight
    const stateReadsPerMonth = BEACONS.warmContainers * ((30 * 86_400) / config.metrics.stateCacheSeconds);
    const usd = (value: number) => round(value, 4);
    const figures: Figure[] = [
      { name: 'total per million beacons', value: usd(total(current)), unit: 'USD', previous: usd(total(previous)) },
      { name: 'API Gateway (HTTP API)', value: usd(current.apiGateway), unit: 'USD', previous: usd(previous.apiGateway) },
      { name: `Lambda (requests, ${BEACONS.billedMsPerBeacon} ms at 256 MB)`, value: usd(current.lambda), unit: 'USD', previous: usd(previous.lambda) },
      { name: 'DynamoDB (one UpdateItem per beacon)', value: usd(current.dynamodb), unit: 'USD', previous: usd(previous.dynamodb) },
      { name: 'CloudWatch PutMetricData', value: usd(current.metrics), unit: 'USD', previous: usd(previous.metrics) },
      { name: 'CloudWatch Logs (EMF and Lambda lines)', value: usd(current.logs), unit: 'USD', previous: usd(previous.logs) },
      { name: 'EMF line of a counted viewer', value: emfBytes, unit: 'B' },
      { name: 'custom metrics per month, whatever the number of builds', value: usd(priceOf(PRICES.customMetricMonth, metricCount)), unit: 'USD' },
      { name: 'state copy reads per month', value: usd(priceOf(PRICES.dynamoRead, stateReadsPerMonth / 2)), unit: 'USD' },
      { name: 'WAF rate limit, when enabled, per month', value: usd(priceOf(PRICES.wafWebAclMonth, 1) + priceOf(PRICES.wafRuleMonth, 1)), unit: 'USD' },
      { name: 'WAF rate limit, when enabled, per million distribution requests', value: usd(priceOf(PRICES.wafRequest, 1_000_000)), unit: 'USD' },
      { name: 'metrics API core, a repeat within the period: median', value: round(Math.max(0, repeat.median / 1000 - overheadUs), 3), unit: 'µs' },
      { name: 'metrics API core, a repeat within the period: p99', value: round(Math.max(0, repeat.p99 / 1000 - overheadUs), 3), unit: 'µs' },
      { name: 'metrics API core, a beacon for another viewer\u2019s build (403): median', value: round(Math.max(0, rejected.median / 1000 - overheadUs), 3), unit: 'µs' },
    ];
    return {
      figures,
      notes: [
        `Prices read ${PRICES_READ} (bench/prices.ts, each with its source): HTTP API $${PRICES.httpApiRequest.usd} per million, Lambda $${PRICES.lambdaRequest.usd} per million requests and $${PRICES.lambdaGbSecond.usd} per GB-second, DynamoDB $${PRICES.dynamoWrite.usd} per million write units and $${PRICES.dynamoRead.usd} per million read units, PutMetricData $${PRICES.putMetricData.usd} per 1,000, Logs $${PRICES.logsIngestionGb.usd} per GB, $${PRICES.customMetricMonth.usd} per metric-month, WAF $${PRICES.wafRequest.usd} per million requests, $${PRICES.wafWebAclMonth.usd} per web ACL and $${PRICES.wafRuleMonth.usd} per rule a month.`,
        `  This design: per beacon one API Gateway request, one Lambda invocation (${BEACONS.billedMsPerBeacon} ms billed, assumed: it waits for one DynamoDB write), one UpdateItem (a repeat costs the same unit), ${BEACONS.lambdaLogBytesPerInvocation} B of Lambda's own log lines (assumed) and, for a viewer's first beacon in a period, a ${emfBytes} B EMF line (measured; every beacon counted as a first sighting, the worst case). No PutMetricData.`,
        `  Previous design: the same API Gateway and Lambda, one PutMetricData call per beacon (two custom metrics per build, a new pair for every build). CloudFront's own request charge for /api/* is the same in both and left out.`,
        `  Fixed: ${metricCount} custom metrics (Viewers and ErroringViewers per role, canary, stable and ring, and RolloutWeight); the state copy read once per ${config.metrics.stateCacheSeconds} s (metrics.stateCacheSeconds) by each of ${BEACONS.warmContainers} warm containers (assumed). The ledger's items expire an hour after their period (DynamoDB TTL, free).`,
        `  WAF (metrics.rateLimit, off by default) inspects every request the distribution serves, entry loads and chunks too: at the benchmark's cost model that is $${PRICES.wafRequest.usd} per million entry loads on top of the entry's own cost.`,
        `  Core time: handleBeacon with the real checks, assignment and an in-memory ledger, ${calls.toLocaleString('en')} calls over ${viewers.length} viewers after one pass that saw each; includes no network. Timer and await overhead (${round(overheadUs, 3)} µs) subtracted.`,
      ],
      data: { emfBytes, current, previous, repeat, rejected },
    };
  },
};
