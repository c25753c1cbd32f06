import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient, GetDeploymentCommand, ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import * as fc from 'fast-check';
import { parseRolloutRecord } from '../../edge-function/shared/rollout-record';
import {
  chooseSalt,
  effectiveCanary,
  MANUAL_SYNC_EVENT,
  parseSyncEvent,
  planSync,
  rolloutRecordFor,
  syncTriggerFrom,
  type SyncEvent,
} from '../../regional-function/rollout-sync/core';
import { createRolloutSync } from '../../regional-function/rollout-sync/sync';
import type { AliasBuilds } from '../../regional-function/shared/alias-state';
import { deploymentSummaryFrom, type DeploymentSummary } from '../../regional-function/shared/deployments';
import type { RolloutSyncEnvironment } from '../../regional-function/shared/environment';
import { BUILD_A, BUILD_B, BUILD_C, lambdaDeployment, NAMES, rolloutRecordSet, versionConfiguration } from './aws-fixtures';

const GROUP = { application: NAMES.application, deploymentGroup: NAMES.deploymentGroup };
const SCHEDULED: SyncEvent = { source: 'aws.events', 'detail-type': 'Scheduled Event' };

function stateChange(deploymentId: string, state: string, group: { application: string; deploymentGroup: string } = GROUP): SyncEvent {
  return {
    source: 'aws.codedeploy',
    'detail-type': 'CodeDeploy Deployment State-change Notification',
    detail: { application: group.application, deploymentGroup: group.deploymentGroup, deploymentId, state },
  };
}

function builds(canary?: { version: string; buildId: string; weight: number }): AliasBuilds {
  return { stable: { version: '7', buildId: BUILD_A }, canary: canary ?? null };
}

function deployment(id: string, from: string, to: string, status: 'InProgress' | 'Succeeded' | 'Stopped' = 'InProgress'): DeploymentSummary {
  return deploymentSummaryFrom(id, lambdaDeployment({ from, to, status }).deploymentInfo);
}

describe('rollout record from the alias', () => {
  it('has no canary when the alias has no second version, a zero weight, or the same build twice', () => {
    expect(rolloutRecordFor(builds(), null)).toEqual({ stable: BUILD_A, canary: null, weight: 0, salt: null });
    expect(rolloutRecordFor(builds({ version: '8', buildId: BUILD_B, weight: 0 }), 'd-X')).toEqual({ stable: BUILD_A, canary: null, weight: 0, salt: null });
    // A new version of the same build (router code or config changed): no viewer changes build.
    expect(effectiveCanary(builds({ version: '8', buildId: BUILD_A, weight: 5000 }))).toBeNull();
    expect(rolloutRecordFor(builds({ version: '8', buildId: BUILD_A, weight: 5000 }), 'd-X')).toEqual({ stable: BUILD_A, canary: null, weight: 0, salt: null });
  });

  it('names the stable build, the canary build and its weight in basis points', () => {
    expect(rolloutRecordFor(builds({ version: '8', buildId: BUILD_B, weight: 2500 }), 'd-ABC123')).toEqual({ stable: BUILD_A, canary: BUILD_B, weight: 2500, salt: 'd-ABC123' });
    expect(() => rolloutRecordFor(builds({ version: '8', buildId: BUILD_B, weight: 2500 }), null)).toThrow('needs a salt');
  });

  it('always formats a record the edge parser reads back to the same builds and weight', () => {
    const buildId = fc.stringMatching(/^[0-9a-f]{16}$/);
    fc.assert(
      fc.property(buildId, buildId, fc.integer({ min: 0, max: 9999 }), fc.stringMatching(/^d-[A-Z0-9]{9}$/), fc.option(fc.stringMatching(/^d-[A-Z0-9]{9}$/)), (a, b, weight, id, currentSalt) => {
        const alias = { stable: { version: '3', buildId: a }, canary: { version: '4', buildId: b, weight } };
        const current = currentSalt ? { stable: a, canary: b, weight: 100, salt: currentSalt } : null;
        const plan = planSync(alias, deployment(id, '3', '4'), current ? { text: 'old', record: current } : null);
        const parsed = parseRolloutRecord(plan.text);
        expect(parsed).toEqual(plan.record);
        const live = a !== b && weight > 0;
        expect(parsed!.canary).toBe(live ? b : null);
        expect(parsed!.weight).toBe(live ? weight : 0);
        expect(parsed!.salt).toBe(live ? id : null);
      }),
    );
  });
});

describe('salt', () => {
  const shifting = builds({ version: '8', buildId: BUILD_B, weight: 1000 });

  it('is the id of the active deployment that targets the canary version', () => {
    expect(chooseSalt(shifting, deployment('d-NEW000001', '7', '8'), null)).toEqual({ salt: 'd-NEW000001', source: 'deployment' });
  });

  it('ignores a deployment that has ended or that moves elsewhere (a rollback), and keeps the current cohort', () => {
    const current = { stable: BUILD_A, canary: BUILD_B, weight: 1000, salt: 'd-OLD000001' };
    expect(chooseSalt(shifting, deployment('d-DONE00001', '7', '8', 'Succeeded'), current)).toEqual({ salt: 'd-OLD000001', source: 'current-record' });
    expect(chooseSalt(shifting, deployment('d-ROLLBACK1', '8', '7'), current)).toEqual({ salt: 'd-OLD000001', source: 'current-record' });
    expect(chooseSalt(shifting, null, current)).toEqual({ salt: 'd-OLD000001', source: 'current-record' });
  });

  it('does not carry a salt over from a record of another shift, and falls back to the alias versions', () => {
    const otherShift = { stable: BUILD_A, canary: BUILD_C, weight: 1000, salt: 'd-OLD000001' };
    expect(chooseSalt(shifting, null, otherShift)).toEqual({ salt: 'alias-7-8', source: 'alias-versions' });
    expect(chooseSalt(shifting, null, null)).toEqual({ salt: 'alias-7-8', source: 'alias-versions' });
  });

  it('is none without a canary, whatever CodeDeploy says', () => {
    expect(chooseSalt(builds(), deployment('d-NEW000001', '7', '8'), null)).toEqual({ salt: null, source: 'none' });
  });
});

describe('sync events', () => {
  it('takes the deployment id only from a START of our own group', () => {
    expect(syncTriggerFrom(parseSyncEvent(stateChange('d-START0001', 'START')), GROUP)).toEqual({ kind: 'deployment', startedDeploymentId: 'd-START0001' });
    expect(syncTriggerFrom(parseSyncEvent(stateChange('d-START0001', 'SUCCESS')), GROUP)).toEqual({ kind: 'deployment', startedDeploymentId: null });
    expect(syncTriggerFrom(stateChange('d-START0001', 'START', { application: 'other', deploymentGroup: NAMES.deploymentGroup }), GROUP)).toEqual({
      kind: 'deployment',
      startedDeploymentId: null,
    });
    expect(syncTriggerFrom(parseSyncEvent(SCHEDULED), GROUP)).toEqual({ kind: 'schedule', startedDeploymentId: null });
    expect(syncTriggerFrom(parseSyncEvent({ ...MANUAL_SYNC_EVENT }), GROUP)).toEqual({ kind: 'manual', startedDeploymentId: null });
  });

  it('rejects anything else, saying what it accepts and what it got', () => {
    expect(() => parseSyncEvent({ source: 'aws.s3', 'detail-type': 'Object Created' })).toThrow(/runs on an EventBridge "Scheduled Event" .* got an object with detail-type "Object Created"/);
    expect(() => parseSyncEvent({ ...stateChange('not-an-id', 'START') })).toThrow(/detail.deploymentId: must match/);
    expect(() => parseSyncEvent('tick')).toThrow(/got "tick" \(event: must be an object\)/);
  });
});

describe('rollout sync against AWS', () => {
  const lambda = mockClient(LambdaClient);
  const route53 = mockClient(Route53Client);
  const codedeploy = mockClient(CodeDeployClient);
  const cloudwatch = mockClient(CloudWatchClient);
  const env: RolloutSyncEnvironment = {
    ENTRY_ROUTER_FUNCTION: NAMES.functionName,
    LIVE_ALIAS: NAMES.alias,
    HOSTED_ZONE_ID: NAMES.zoneId,
    ROLLOUT_RECORD_NAME: NAMES.record,
    ROLLOUT_RECORD_TTL: '30',
    METRICS_NAMESPACE: 'EdgeWidget',
    CODEDEPLOY_APPLICATION: NAMES.application,
    CODEDEPLOY_DEPLOYMENT_GROUP: NAMES.deploymentGroup,
  };
  const clients = () => ({
    lambda: new LambdaClient({ region: 'us-east-1' }),
    route53: new Route53Client({ region: 'us-east-1' }),
    codedeploy: new CodeDeployClient({ region: 'us-east-1' }),
    cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
  });

  beforeEach(() => {
    for (const mock of [lambda, route53, codedeploy, cloudwatch]) mock.reset();
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '7' }).resolves(versionConfiguration(BUILD_A));
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '8' }).resolves(versionConfiguration(BUILD_B));
    route53.on(ChangeResourceRecordSetsCommand).resolves({ ChangeInfo: { Id: 'C1', Status: 'PENDING', SubmittedAt: new Date() } });
    cloudwatch.on(PutMetricDataCommand).resolves({});
  });
  afterAll(() => [lambda, route53, codedeploy, cloudwatch].forEach((mock) => mock.restore()));

  function upserts() {
    return route53.commandCalls(ChangeResourceRecordSetsCommand).map((call) => call.args[0].input);
  }

  it('writes nothing when the record already says what the alias says, and still publishes the weight', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [rolloutRecordSet(`v=1 stable=${BUILD_A} canary=- weight=0 salt=-`)] });
    const summary = await createRolloutSync(env, clients())(SCHEDULED);
    expect(summary).toEqual({ action: 'unchanged', trigger: 'schedule', record: `v=1 stable=${BUILD_A} canary=- weight=0 salt=-`, previous: `v=1 stable=${BUILD_A} canary=- weight=0 salt=-`, weight: 0, saltSource: 'none' });
    expect(upserts()).toEqual([]);
    // Without a canary CodeDeploy is not asked anything.
    expect(codedeploy.calls()).toHaveLength(0);
    expect(route53.commandCalls(ListResourceRecordSetsCommand)[0].args[0].input).toEqual({ HostedZoneId: NAMES.zoneId, StartRecordName: NAMES.record, StartRecordType: 'TXT', MaxItems: 1 });
    expect(cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input).toEqual({ Namespace: 'EdgeWidget', MetricData: [{ MetricName: 'RolloutWeight', Value: 0, Unit: 'None' }] });
  });

  it('on a START event, salts with that deployment and upserts the quoted record with the configured TTL', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.1 } } });
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [rolloutRecordSet(`v=1 stable=${BUILD_A} canary=- weight=0 salt=-`)] });
    codedeploy.on(GetDeploymentCommand, { deploymentId: 'd-START0001' }).resolves(lambdaDeployment({ from: '7', to: '8' }));
    const summary = await createRolloutSync(env, clients())(stateChange('d-START0001', 'START'));
    const text = `v=1 stable=${BUILD_A} canary=${BUILD_B} weight=1000 salt=d-START0001`;
    expect(summary).toMatchObject({ action: 'written', trigger: 'deployment', record: text, weight: 1000, saltSource: 'deployment' });
    expect(upserts()).toEqual([
      {
        HostedZoneId: NAMES.zoneId,
        ChangeBatch: {
          Comment: 'rollout sync: mirror of the entry router alias',
          Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: NAMES.record, Type: 'TXT', TTL: 30, ResourceRecords: [{ Value: `"${text}"` }] } }],
        },
      },
    ]);
    expect(codedeploy.commandCalls(ListDeploymentsCommand)).toHaveLength(0);
    expect(cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input.MetricData).toEqual([{ MetricName: 'RolloutWeight', Value: 1000, Unit: 'None' }]);
  });

  it('on the schedule, finds the active deployment of the group for the salt', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.3 } } });
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [rolloutRecordSet(`v=1 stable=${BUILD_A} canary=${BUILD_B} weight=2000 salt=d-ACTIVE001`)] });
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-ACTIVE001'] });
    codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
    const summary = await createRolloutSync(env, clients())(SCHEDULED);
    expect(summary).toMatchObject({ action: 'written', record: `v=1 stable=${BUILD_A} canary=${BUILD_B} weight=3000 salt=d-ACTIVE001`, previous: `v=1 stable=${BUILD_A} canary=${BUILD_B} weight=2000 salt=d-ACTIVE001` });
    expect(codedeploy.commandCalls(ListDeploymentsCommand)[0].args[0].input).toEqual({
      applicationName: NAMES.application,
      deploymentGroupName: NAMES.deploymentGroup,
      includeOnlyStatuses: ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'],
    });
  });

  it('creates the record when there is none (the listing starts at the next name)', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '8' });
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [{ Name: '_rollout2.widget.example.com.', Type: 'TXT', TTL: 30, ResourceRecords: [{ Value: '"x"' }] }] });
    const summary = await createRolloutSync(env, clients())(SCHEDULED);
    expect(summary).toMatchObject({ action: 'written', previous: null, record: `v=1 stable=${BUILD_B} canary=- weight=0 salt=-` });
    expect(upserts()).toHaveLength(1);
  });

  it('overwrites a record the edges cannot parse', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [rolloutRecordSet('v=2 something else')] });
    expect(await createRolloutSync(env, clients())(SCHEDULED)).toMatchObject({ action: 'written', previous: 'v=2 something else' });
  });

  it('asks Lambda for each version once per container: published versions never change', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.1 } } });
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
    const sync = createRolloutSync(env, clients());
    await sync(SCHEDULED);
    await sync(SCHEDULED);
    await sync(SCHEDULED);
    expect(lambda.commandCalls(GetAliasCommand)).toHaveLength(3);
    expect(lambda.commandCalls(GetFunctionConfigurationCommand).map((call) => call.args[0].input.Qualifier)).toEqual(['7', '8']);
  });

  it('lets two runs at once write the same value', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.5 } } });
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-ACTIVE001'] });
    codedeploy.on(GetDeploymentCommand).resolves(lambdaDeployment({ from: '7', to: '8' }));
    const [first, second] = await Promise.all([createRolloutSync(env, clients())(SCHEDULED), createRolloutSync(env, clients())(stateChange('d-ACTIVE001', 'START'))]);
    expect(first.record).toBe(second.record);
    const values = upserts().map((input) => input.ChangeBatch!.Changes![0].ResourceRecordSet!.ResourceRecords![0].Value);
    expect(values).toEqual([`"${first.record}"`, `"${first.record}"`]);
  });

  it('says what is missing when the alias or the zone does not exist', async () => {
    lambda.on(GetAliasCommand).rejects(Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }));
    await expect(createRolloutSync(env, clients())(SCHEDULED)).rejects.toThrow('alias live of function edge-widget-entry-router not found: deploy the stacks first');
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    route53.on(ListResourceRecordSetsCommand).rejects(Object.assign(new Error('No hosted zone found'), { name: 'NoSuchHostedZone' }));
    await expect(createRolloutSync(env, clients())(SCHEDULED)).rejects.toThrow(`Route53 hosted zone ${NAMES.zoneId} does not exist`);
  });

  it('names the version whose description has no buildId', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '9' });
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '9' }).resolves(versionConfiguration(null));
    await expect(createRolloutSync(env, clients())(SCHEDULED)).rejects.toThrow('edge-widget-entry-router version 9 has no buildId in its description ("published by hand")');
  });

  it('reports a failed metric after the record is written, so the error says the record is fine', async () => {
    lambda.on(GetAliasCommand).resolves({ Name: 'live', FunctionVersion: '7' });
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });
    cloudwatch.on(PutMetricDataCommand).rejects(new Error('Rate exceeded'));
    await expect(createRolloutSync(env, clients())(SCHEDULED)).rejects.toThrow(
      `rollout record _rollout.widget.example.com is up to date (written: v=1 stable=${BUILD_A} canary=- weight=0 salt=-), but publishing RolloutWeight to EdgeWidget failed: Rate exceeded`,
    );
    expect(upserts()).toHaveLength(1);
  });

  it('refuses a TTL that is not a whole number of seconds', () => {
    expect(() => createRolloutSync({ ...env, ROLLOUT_RECORD_TTL: '30s' }, clients())).toThrow('ROLLOUT_RECORD_TTL must be a whole number of seconds (1..86400), got "30s"');
  });
});
