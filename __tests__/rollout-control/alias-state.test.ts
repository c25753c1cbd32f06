import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { aliasStateFrom, readAliasBuilds } from '../../rollout-control/alias-state';
import { versionDescription } from '../../contracts/version-description';

const A = '0123456789abcdef';
const B = 'fedcba9876543210';

describe('alias state', () => {
  it('reads a settled alias and one mid-shift', () => {
    expect(aliasStateFrom({ FunctionVersion: '3' })).toEqual({
      stableVersion: '3',
      canaryVersion: null,
      canaryWeight: 0,
    });
    expect(aliasStateFrom({ FunctionVersion: '3', RoutingConfig: { AdditionalVersionWeights: { '4': 0.1 } } })).toEqual(
      {
        stableVersion: '3',
        canaryVersion: '4',
        canaryWeight: 1000,
      },
    );
  });

  it('refuses an alias that is not on a numbered version or splits three ways', () => {
    expect(() => aliasStateFrom({ Name: 'live', FunctionVersion: '$LATEST' })).toThrow(/not a numbered version/);
    expect(() =>
      aliasStateFrom({ FunctionVersion: '3', RoutingConfig: { AdditionalVersionWeights: { '4': 0.1, '5': 0.1 } } }),
    ).toThrow(/2 extra versions/);
  });

  it('turns alias versions into builds through the version descriptions', async () => {
    const lambda = mockClient(LambdaClient);
    lambda
      .on(GetAliasCommand)
      .resolves({ FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.25 } } });
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '7' }).resolves({ Description: versionDescription(A) });
    lambda.on(GetFunctionConfigurationCommand, { Qualifier: '8' }).resolves({ Description: versionDescription(B) });
    const builds = await readAliasBuilds(new LambdaClient({ region: 'us-east-1' }), 'edge-widget-entry-router', 'live');
    expect(builds).toEqual({
      stable: { version: '7', buildId: A },
      canary: { version: '8', buildId: B, weight: 2500 },
    });
    lambda.restore();
  });

  it('names the version whose description lacks a buildId', async () => {
    const lambda = mockClient(LambdaClient);
    lambda.on(GetAliasCommand).resolves({ FunctionVersion: '2' });
    lambda.on(GetFunctionConfigurationCommand).resolves({ Description: 'hand-made' });
    await expect(readAliasBuilds(new LambdaClient({ region: 'us-east-1' }), 'fn', 'live')).rejects.toThrow(
      'fn version 2 has no buildId in its description ("hand-made")',
    );
    lambda.restore();
  });
});
