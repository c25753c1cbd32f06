/**
 * The stack every release changes: the Lambda@Edge routers (a new entry-router version per
 * build), the viewer-assignment and error-report functions and the rollout store, the
 * distribution associated with them, CodeDeploy and its alarms, the alias `live`, the release
 * signal (CloudFront's real-time logs of the entry and the error reports, the stream they go to,
 * the consumer that counts viewers from it, the release-signal table), the regional functions
 * (rollout sync, release), the release dashboard, and the topic every release notification goes to. Everything here is
 * in us-east-1 except the routers' replica log groups.
 *
 * It takes the zone id and the origin access identity from the replica stack by reference, and
 * nothing flows back.
 */
import { dependable, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { REGIONAL_EDGE_CACHE_REGIONS, resourceNames, rolloutSteps, type DeployConfig } from '../config';
import { judgeRule } from '../contracts/canary-judge';
import { dashboardUrl } from '../contracts/release-dashboard';
import { releaseAlarmQueries, statePropagationMs, unjudgedAlarmQueries } from '../contracts/release-signal';
import { signalCapacity } from '../contracts/signal-capacity';
import { ALL_AT_ONCE_CONFIG } from '../contracts/deployment-config';
import { versionDescription } from '../contracts/version-description';
import type { BuildManifest, FunctionZip } from '../contracts/build-manifest';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { configureBackend } from './backend';
import { AccessLogBucket } from './constructs/access-log-bucket';
import { AliasDeployment } from './constructs/alias-deployment';
import { AwsAccount } from './constructs/aws-account';
import { RegionalProviders, US_EAST_1 } from './constructs/aws-providers';
import { CustomDomain } from './constructs/custom-domain';
import { Distribution, type PriceClass } from './constructs/distribution';
import { EdgeFunction } from './constructs/edge-function';
import { LiveAlias } from './constructs/live-alias';
import { PermissionsBoundary } from './constructs/permissions-boundary';
import type { FunctionCode } from './constructs/packaged-function';
import { Release } from './constructs/release';
import { ReleaseDashboard } from './constructs/release-dashboard';
import { ReleaseNotifications } from './constructs/release-notifications';
import { ReleaseSignalTable } from './constructs/release-signal-table';
import { RolloutAlarms } from './constructs/rollout-alarms';
import { RolloutStore } from './constructs/rollout-store';
import { RolloutSync } from './constructs/rollout-sync';
import { SignalConsumer } from './constructs/signal-consumer';
import { SignalLogConfig } from './constructs/realtime-log-config';
import { SignalStream } from './constructs/signal-stream';
import type { ReplicaOutputs } from './replica-stack';

export interface DeliveryStackProps {
  readonly config: DeployConfig;
  readonly manifest: BuildManifest;
  /** Folder the manifest's zip paths are relative to. */
  readonly buildDir: string;
  readonly replicas: ReplicaOutputs;
  /** @default config.edge.priceClass ('PriceClass_All': host pages are everywhere, and so are their viewers) */
  readonly priceClass?: PriceClass;
}

export class DeliveryStack extends TerraformStack {
  readonly providers: RegionalProviders;
  readonly entryRouter: EdgeFunction;
  readonly chunkRouter: EdgeFunction;
  readonly liveAlias: LiveAlias;
  readonly distribution: Distribution;
  readonly alarms: RolloutAlarms;
  readonly deployment: AliasDeployment;
  readonly rolloutSync: RolloutSync;
  readonly rolloutStore: RolloutStore;
  readonly release: Release;
  readonly signalTable: ReleaseSignalTable;
  readonly signalStream: SignalStream;
  readonly signalLogs: SignalLogConfig;
  readonly signalConsumer: SignalConsumer;
  readonly dashboard: ReleaseDashboard;
  readonly notifications: ReleaseNotifications;
  readonly customDomain?: CustomDomain;

  constructor(scope: Construct, id: string, props: DeliveryStackProps) {
    super(scope, id);
    const { config, manifest, replicas } = props;
    const names = resourceNames(config);
    configureBackend(this, config.backend, id);
    const priceClass = props.priceClass ?? config.edge.priceClass;
    // Lambda@Edge logs land in the region of the regional edge cache that ran it: every one of the price class.
    const edgeLogRegions = REGIONAL_EDGE_CACHE_REGIONS[priceClass];
    this.providers = new RegionalProviders(this, 'aws', {
      regions: [...config.regions, ...edgeLogRegions],
      defaultTags: { Distribution: config.name, Stack: id, ManagedBy: 'cdktf' },
    });
    const provider = this.providers.usEast1;
    const account = new AwsAccount(this, 'account', { provider });
    // Every role below carries the boundary the deploy role may write roles with, and no other.
    PermissionsBoundary.of(this).apply(account.arn('iam', '', `policy/${names.permissionsBoundary}`));
    const code = (zip: FunctionZip): FunctionCode => ({ zip, buildDir: props.buildDir });
    const logRetentionDays = config.retention.logRetentionDays;
    const buckets = Object.fromEntries(config.regions.map((region) => [region, names.bucket(region)]));

    const edge = {
      runtime: config.edge.runtime,
      memorySize: config.edge.memoryMb,
      timeout: config.edge.timeoutSeconds,
      providers: this.providers,
      logRegions: edgeLogRegions,
      account,
      logRetentionDays,
    };
    this.entryRouter = new EdgeFunction(this, 'entry-router', {
      ...edge,
      functionName: names.entryRouter,
      code: code(manifest.functions['entry-router']),
      // Each published version names the build it inlines: rollout sync maps versions to builds.
      description: versionDescription(manifest.buildId),
    });
    this.chunkRouter = new EdgeFunction(this, 'chunk-router', {
      ...edge,
      functionName: names.chunkRouter,
      code: code(manifest.functions['chunk-router']),
      description: `chunk router, build ${manifest.buildId}`,
    });
    this.liveAlias = new LiveAlias(this, 'live-alias', {
      provider,
      aliasName: names.liveAlias,
      functionName: this.entryRouter.functionName,
      initialVersion: this.entryRouter.version,
    });
    // Created with the build the alias serves now, never this deploy's: CodeDeploy moves viewers.
    this.rolloutStore = new RolloutStore(this, 'rollout-store', {
      provider,
      storeName: names.rolloutStore,
      initialStableBuildId: this.liveAlias.servedBuildId,
    });
    // The fallback path: the router reads the state itself when the viewer-assignment function could not.
    this.rolloutStore.grantRead(this.entryRouter);
    // Builds other than its own: the router reads their entry from the nearest bucket.
    this.entryRouter.addToRolePolicy({
      sid: 'ReadBuildEntries',
      actions: ['s3:GetObject'],
      resources: config.regions.map((region) => `arn:aws:s3:::${names.bucket(region)}/assets/*`),
    });

    // The release signal: CloudFront logs the entry and the error reports to one shard, and the
    // consumer counts distinct viewers per role from it (contracts/signal-capacity.ts sizes both).
    const capacity = signalCapacity(config.metrics);
    this.signalTable = new ReleaseSignalTable(this, 'release-signal', { provider, tableName: names.signalTable });
    this.signalStream = new SignalStream(this, 'signal-stream', {
      provider,
      streamName: names.signalStream,
      shards: capacity.shards,
    });
    this.signalLogs = new SignalLogConfig(this, 'signal-logs', {
      provider,
      configName: names.realtimeLogConfig,
      roleName: `${names.realtimeLogConfig}-cloudfront`,
      samplingPercent: capacity.samplingPercent,
      stream: this.signalStream,
    });
    this.signalConsumer = new SignalConsumer(this, 'signal-consumer', {
      provider,
      functionName: names.signalConsumer,
      code: code(manifest.functions['signal-consumer']),
      runtime: config.regionalRuntime,
      logRetentionDays,
      stream: this.signalStream,
      signalTable: this.signalTable,
      rolloutSyncArn: account.arn('lambda', US_EAST_1, `function:${names.rolloutSync}`),
      maximumBatchingWindowSeconds: config.metrics.batchWindowSeconds,
      environment: {
        METRICS_NAMESPACE: config.metrics.namespace,
        SIGNAL_TABLE: this.signalTable.tableName,
        PERIOD_SECONDS: String(config.alarms.periodSeconds),
        LATENESS_SECONDS: String(config.metrics.latenessSeconds),
        REALTIME_LOG_CONFIG_ARN: this.signalLogs.arn,
        JUDGE_RULE: JSON.stringify(judgeRule(config.alarms)),
        // By name: rollout sync is created after the alarms and CodeDeploy it reads.
        ROLLOUT_SYNC_FUNCTION: names.rolloutSync,
        ROLLOUT_STEPS: JSON.stringify(rolloutSteps(config.rollout)),
      },
    });
    this.signalLogs.grantReadFields(this.signalConsumer.handler);

    if (config.customDomain) {
      this.customDomain = new CustomDomain(this, 'custom-domain', {
        provider,
        domainName: config.domain,
        zoneId: replicas.hostedZoneId,
      });
    }
    const accessLogs = new AccessLogBucket(this, 'access-logs', {
      provider,
      // One per distribution, next to CloudFront in us-east-1; named after the replica naming scheme.
      bucketName: `${names.bucket(US_EAST_1)}-access-logs`,
      expirationDays: logRetentionDays,
    });
    const origin = (region: string) => ({ region, domainName: names.bucketDomain(region) });
    this.distribution = new Distribution(this, 'distribution', {
      provider,
      name: config.name,
      primaryOrigin: origin(config.primaryRegion),
      failoverOrigin: config.failoverRegion ? origin(config.failoverRegion) : undefined,
      originAccessIdentityPath: replicas.originAccessIdentityPath,
      entryRouter: this.entryRouter,
      chunkRouter: this.chunkRouter,
      viewerAssignmentCode: readFileSync(
        path.join(props.buildDir, manifest.cloudFrontFunctions['viewer-assignment'].file),
        'utf8',
      ),
      rolloutStoreArn: this.rolloutStore.storeArn,
      errorReport: {
        functionName: names.errorReport,
        code: readFileSync(path.join(props.buildDir, manifest.cloudFrontFunctions['error-report'].file), 'utf8'),
      },
      realtimeLogConfigArn: this.signalLogs.arn,
      accessLogs,
      priceClass,
      customDomain: this.customDomain
        ? { domainName: this.customDomain.domainName, certificateArn: this.customDomain.certificateArn }
        : undefined,
    });
    this.customDomain?.aliasTo(this.distribution);

    this.alarms = new RolloutAlarms(this, 'alarms', {
      provider,
      clientErrorAlarmName: names.clientErrorAlarm,
      edgeErrorAlarmName: names.edgeErrorAlarm,
      assignmentFallbackAlarmName: names.assignmentFallbackAlarm,
      alarms: config.alarms,
      namespace: config.metrics.namespace,
      distributionId: this.distribution.distributionId,
      viewerAssignmentName: names.viewerAssignment,
      logRetentionDays,
      // By name, as unjudgedAlarmQueries takes them: the metrics' dimensions.
      signal: {
        unjudgedAlarmName: names.signalUnjudgedAlarm,
        latenessSeconds: config.metrics.latenessSeconds,
        consumerFunctionName: names.signalConsumer,
        streamName: names.signalStream,
      },
    });
    // Its log group exists, with a retention, before the function's code can log into it.
    this.distribution.viewerAssignment.dependsOn = [
      ...(this.distribution.viewerAssignment.dependsOn ?? []),
      dependable(this.alarms.viewerAssignmentLogs),
    ];
    this.deployment = new AliasDeployment(this, 'deployment', {
      provider,
      account,
      name: config.name,
      applicationName: names.codeDeployApplication,
      deploymentGroupName: names.deploymentGroup,
      rollout: config.rollout,
      holdMinutes: config.alarms.holdMinutes,
      alarmNames: this.alarms.rollbackAlarmNames,
    });

    this.notifications = new ReleaseNotifications(this, 'notifications', {
      provider,
      topicName: names.notificationTopic,
      emails: config.notifications.emails,
      webhooks: config.notifications.webhooks,
    });

    this.rolloutSync = new RolloutSync(this, 'rollout-sync', {
      provider,
      account,
      functionName: names.rolloutSync,
      code: code(manifest.functions['rollout-sync']),
      runtime: config.regionalRuntime,
      logRetentionDays,
      entryRouterArn: this.entryRouter.functionArn,
      deploymentGroupArn: this.deployment.deploymentGroupArn,
      rolloutStore: this.rolloutStore,
      signalTable: this.signalTable,
      environment: {
        ENTRY_ROUTER_FUNCTION: this.entryRouter.functionName,
        LIVE_ALIAS: this.liveAlias.aliasName,
        ROLLOUT_STORE_ARN: this.rolloutStore.storeArn,
        METRICS_NAMESPACE: config.metrics.namespace,
        CODEDEPLOY_APPLICATION: this.deployment.applicationName,
        CODEDEPLOY_DEPLOYMENT_GROUP: this.deployment.deploymentGroupName,
        CLIENT_ERROR_ALARM: this.alarms.clientErrors.alarmName,
        SIGNAL_TABLE: this.signalTable.tableName,
        BUCKETS: JSON.stringify(buckets),
        SIGNAL_UNJUDGED_ALARM: this.alarms.signalUnjudged.alarmName,
        STATE_PROPAGATION_MS: String(statePropagationMs(config.edge)),
        ROLLOUT_STEPS: JSON.stringify(rolloutSteps(config.rollout)),
        HOLD_MINUTES: String(config.alarms.holdMinutes),
        NOTIFICATION_TOPIC_ARN: this.notifications.topicArn,
        DISTRIBUTION_NAME: config.name,
        DASHBOARD_URL: dashboardUrl(names.dashboard),
      },
      buckets,
      clientErrorAlarmArn: this.alarms.clientErrors.arn,
      unjudgedAlarmArn: this.alarms.signalUnjudged.arn,
      // Heard, not acted on: each state change is a message on the topic.
      notifiedAlarmArns: [this.alarms.edgeErrors.arn, this.alarms.assignmentFallbacks.arn],
      notifications: this.notifications,
    });

    this.dashboard = new ReleaseDashboard(this, 'dashboard', {
      provider,
      dashboardName: names.dashboard,
      namespace: config.metrics.namespace,
      queries: releaseAlarmQueries(config.alarms),
      signalQueries: unjudgedAlarmQueries(
        { latenessSeconds: config.metrics.latenessSeconds },
        { consumerFunction: names.signalConsumer, stream: names.signalStream },
      ),
      latenessSeconds: config.metrics.latenessSeconds,
      periodSeconds: config.alarms.periodSeconds,
      alarmArns: [
        this.alarms.clientErrors.arn,
        this.alarms.signalUnjudged.arn,
        this.alarms.edgeErrors.arn,
        this.alarms.assignmentFallbacks.arn,
      ],
      distributionId: this.distribution.distributionId,
      viewerAssignmentName: this.distribution.viewerAssignmentName,
    });

    this.release = new Release(this, 'release', {
      provider,
      functionName: names.release,
      code: code(manifest.functions.release),
      runtime: config.regionalRuntime,
      logRetentionDays,
      entryRouterArn: this.entryRouter.functionArn,
      input: { version: this.entryRouter.version, buildId: manifest.buildId },
      environment: {
        ENTRY_ROUTER_FUNCTION: this.entryRouter.functionName,
        LIVE_ALIAS: this.liveAlias.aliasName,
        CODEDEPLOY_APPLICATION: this.deployment.applicationName,
        CODEDEPLOY_DEPLOYMENT_GROUP: this.deployment.deploymentGroupName,
        BUCKETS: JSON.stringify(buckets),
        ROLLOUT_STORE_ARN: this.rolloutStore.storeArn,
      },
      buckets,
      applicationArn: this.deployment.applicationArn,
      deploymentGroupArn: this.deployment.deploymentGroupArn,
      deploymentConfigArns: [
        this.deployment.deploymentConfigArn,
        account.arn('codedeploy', US_EAST_1, `deploymentconfig:${ALL_AT_ONCE_CONFIG}`),
      ],
      // The distribution first (viewers reach the new version), then CodeDeploy may shift.
      after: [
        this.distribution.distribution,
        this.liveAlias.alias,
        this.deployment.deploymentGroup,
        this.alarms.clientErrors,
        this.alarms.signalUnjudged.alarm,
        this.alarms.edgeErrors,
      ],
    });

    // A revoked build is never released: the release function reads its key first.
    this.rolloutStore.grantRead(this.release.handler);

    new TerraformOutput(this, 'distribution-domain', {
      description: 'Where host pages load the widget: https://<this>/assets/index.js',
      value: this.customDomain ? config.domain : this.distribution.domainName,
    });
    new TerraformOutput(this, 'distribution-id', { value: this.distribution.distributionId });
    new TerraformOutput(this, 'entry-router-version', {
      description: 'Version this deploy published and released',
      value: this.entryRouter.version,
    });
    new TerraformOutput(this, 'build-id', { value: manifest.buildId });
    new TerraformOutput(this, 'dashboard-url', {
      description: 'The release dashboard',
      value: dashboardUrl(names.dashboard),
    });
  }
}
