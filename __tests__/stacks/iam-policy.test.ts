/**
 * The one IAM evaluator (stacks/policy/iam-policy.ts) and the reference it reads
 * (stacks/policy/iam-reference.ts): AWS's evaluation logic on small policies whose answer the IAM
 * User Guide gives, and the reference's facts checked against what AWS documents for a few actions.
 */
import {
  evaluate,
  jsonStatements,
  type IamRequest,
  type PolicySet,
  type Statement,
} from '../../stacks/policy/iam-policy';
import {
  conditionKeySupported,
  patternCanBeType,
  referenceAction,
  referenceActions,
  wildcardMatch,
} from '../../stacks/policy/iam-reference';

const ROLE = 'arn:aws:iam::123456789012:role/widget-release';
const GROUP = 'arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:widget/widget-entry-router';
const TABLE = 'arn:aws:dynamodb:us-east-1:123456789012:table/widget-release-signal';

function statements(...list: object[]): Statement[] {
  return jsonStatements({ Version: '2012-10-17', Statement: list } as never);
}

function decide(policies: PolicySet, request: Omit<IamRequest, 'principal'> & { principal?: string }) {
  return evaluate(policies, { principal: ROLE, ...request });
}

describe("AWS's service authorization reference, as data", () => {
  it('knows which actions take no resource, which the policies here got wrong', () => {
    for (const action of [
      'codedeploy:StopDeployment',
      'cloudfront:CreateDistribution',
      'cloudfront:CreateCachePolicy',
      'cloudfront:GetMonitoringSubscription',
      'logs:DescribeLogGroups',
      'route53:CreateHealthCheck',
    ]) {
      expect([action, referenceAction(action)?.takesNoResource]).toEqual([action, true]);
    }
    for (const action of [
      'codedeploy:GetDeployment',
      'cloudfront:DeleteDistribution',
      's3:GetObject',
      'lambda:UpdateAlias',
    ])
      expect([action, referenceAction(action)?.takesNoResource]).toEqual([action, false]);
  });

  it('finds actions by any capitals and by wildcard, and nothing that does not exist', () => {
    expect(referenceAction('CODEDEPLOY:stopdeployment')?.id).toBe('codedeploy:StopDeployment');
    expect(referenceAction('codedeploy:StopDeployments')).toBeUndefined();
    expect(referenceAction('nosuchservice:Get')).toBeUndefined();
    expect(referenceActions('lambda:EnableReplication*').map((a) => a.id)).toEqual(['lambda:EnableReplication']);
    expect(referenceActions('s3:*').length).toBeGreaterThan(100);
  });

  it("matches a resource pattern to the ARN formats of an action's resource types", () => {
    const type = (action: string, name: string) => referenceAction(action)!.resourceTypes.find((t) => t.name === name)!;
    expect(
      patternCanBeType('arn:aws:logs:*:1:log-group:/aws/lambda/x:*', type('logs:PutLogEvents', 'log-stream')),
    ).toBe(true);
    expect(patternCanBeType('arn:aws:lambda:us-east-1:1:function:widget-*', type('lambda:GetAlias', 'function'))).toBe(
      true,
    );
    expect(
      patternCanBeType('arn:aws:cloudfront::1:distribution/*', type('cloudfront:GetCachePolicy', 'cache-policy')),
    ).toBe(false);
    expect(patternCanBeType('arn:aws:s3:::widget-*/assets/*', type('s3:GetObject', 'object'))).toBe(true);
    expect(patternCanBeType('*', type('s3:GetObject', 'object'))).toBe(true);
  });

  it('knows which condition keys an action supports, tag keys only where listed', () => {
    const kvs = referenceAction('cloudfront-keyvaluestore:PutKey')!;
    expect(conditionKeySupported(kvs, 'aws:ResourceTag/Distribution')).toBe(false);
    expect(conditionKeySupported(kvs, 'aws:SourceIp')).toBe(true);
    expect(
      conditionKeySupported(referenceAction('cloudfront:DeleteDistribution')!, 'aws:ResourceTag/Distribution'),
    ).toBe(true);
    expect(conditionKeySupported(referenceAction('iam:AttachRolePolicy')!, 'iam:PolicyARN')).toBe(true);
    expect(conditionKeySupported(referenceAction('iam:TagRole')!, 'iam:PermissionsBoundary')).toBe(false);
    expect(conditionKeySupported(referenceAction('dynamodb:UpdateItem')!, 'dynamodb:LeadingKeys')).toBe(true);
  });
});

describe('the evaluator', () => {
  it('grants an action that takes no resource only through "*": a statement naming an ARN grants nothing', () => {
    const onArn = { identity: statements({ Effect: 'Allow', Action: 'codedeploy:StopDeployment', Resource: GROUP }) };
    expect(decide(onArn, { action: 'codedeploy:StopDeployment', resource: GROUP })).toEqual({
      allowed: false,
      why: 'no-allow',
    });
    const onStar = { identity: statements({ Effect: 'Allow', Action: 'codedeploy:StopDeployment', Resource: '*' }) };
    expect(decide(onStar, { action: 'codedeploy:StopDeployment', resource: GROUP })).toMatchObject({
      allowed: true,
      by: 'identity',
    });
  });

  it('matches action patterns in any capitals, and ARNs only in their own', () => {
    const upper = TABLE.replace('widget-release-signal', 'Widget-Release-Signal');
    const allow = (action: string, resource: string) => ({
      identity: statements({ Effect: 'Allow', Action: action, Resource: resource }),
    });
    expect(decide(allow('DynamoDB:getitem', TABLE), { action: 'dynamodb:GetItem', resource: TABLE }).allowed).toBe(
      true,
    );
    expect(decide(allow('dynamodb:GetItem', upper), { action: 'dynamodb:GetItem', resource: TABLE }).allowed).toBe(
      false,
    );
    // One pattern read both ways, in either order: the matcher keeps each reading apart.
    expect([wildcardMatch('S3:Get*', 's3:getobject', true), wildcardMatch('S3:Get*', 's3:getobject')]).toEqual([
      true,
      false,
    ]);
    expect([wildcardMatch('Lambda:*', 'lambda:x'), wildcardMatch('Lambda:*', 'lambda:x', true)]).toEqual([false, true]);
  });

  it('refuses to evaluate an action the reference lacks, or an ARN of no type the action takes', () => {
    const policies = { identity: statements({ Effect: 'Allow', Action: '*', Resource: '*' }) };
    expect(() => decide(policies, { action: 'codedeploy:StopDeployments', resource: '*' })).toThrow(
      /not an action in AWS's service authorization reference/,
    );
    expect(() =>
      decide(policies, { action: 'cloudfront:GetCachePolicy', resource: 'arn:aws:cloudfront::1:distribution/E1' }),
    ).toThrow(/not an ARN of any resource type the action takes \(cache-policy\)/);
  });

  it('lets an explicit Deny anywhere win, and needs the boundary to allow too', () => {
    const allow = statements({ Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: TABLE });
    const deny = statements({ Effect: 'Deny', Action: 'dynamodb:*', Resource: '*' });
    expect(decide({ identity: allow }, { action: 'dynamodb:UpdateItem', resource: TABLE })).toMatchObject({
      allowed: true,
    });
    expect(decide({ identity: [...allow, ...deny] }, { action: 'dynamodb:UpdateItem', resource: TABLE })).toMatchObject(
      { allowed: false, why: 'explicit-deny' },
    );
    expect(
      decide(
        { identity: allow, boundary: statements({ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: TABLE }) },
        { action: 'dynamodb:UpdateItem', resource: TABLE },
      ),
    ).toEqual({ allowed: false, why: 'boundary' });
    expect(
      decide({ identity: allow, boundary: deny }, { action: 'dynamodb:UpdateItem', resource: TABLE }),
    ).toMatchObject({ allowed: false, why: 'explicit-deny' });
  });

  it('lets a resource policy grant a principal it names, and only that one', () => {
    const bucket = statements({
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1' },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::b/assets/*',
    });
    const read = { action: 's3:GetObject', resource: 'arn:aws:s3:::b/assets/x.js' };
    expect(
      evaluate(
        { identity: [], resource: bucket },
        { ...read, principal: 'arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1' },
      ),
    ).toMatchObject({ allowed: true, by: 'resource' });
    expect(
      evaluate(
        { identity: [], resource: bucket },
        { ...read, principal: 'arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2' },
      ),
    ).toEqual({ allowed: false, why: 'no-allow' });
  });

  it('drops condition keys the action does not support, as AWS leaves them out of the request', () => {
    // A tag condition on the KeyValueStore data plane can never hold, whatever the caller believes the store carries.
    const tagged = {
      identity: statements({
        Effect: 'Allow',
        Action: 'cloudfront-keyvaluestore:PutKey',
        Resource: '*',
        Condition: { StringEquals: { 'aws:ResourceTag/Distribution': 'widget' } },
      }),
    };
    expect(
      decide(tagged, {
        action: 'cloudfront-keyvaluestore:PutKey',
        resource: 'arn:aws:cloudfront::1:key-value-store/s',
        context: { 'aws:ResourceTag/Distribution': 'widget' },
      }),
    ).toEqual({ allowed: false, why: 'no-allow' });
    const distribution = {
      identity: statements({
        Effect: 'Allow',
        Action: 'cloudfront:DeleteDistribution',
        Resource: '*',
        Condition: { StringEquals: { 'aws:ResourceTag/Distribution': 'widget' } },
      }),
    };
    expect(
      decide(distribution, {
        action: 'cloudfront:DeleteDistribution',
        resource: 'arn:aws:cloudfront::1:distribution/E1',
        context: { 'aws:ResourceTag/Distribution': 'widget' },
      }),
    ).toMatchObject({ allowed: true });
  });

  it.each([
    // [operator, policy values, request values (undefined: key absent), holds]
    ['StringEquals', ['a'], ['a'], true],
    ['StringEquals', ['a'], ['b'], false],
    ['StringEquals', ['a'], undefined, false],
    ['StringNotEquals', ['a'], ['b'], true],
    ['StringNotEquals', ['a'], undefined, true],
    ['StringEqualsIfExists', ['a'], undefined, true],
    ['StringEqualsIfExists', ['a'], ['b'], false],
    ['StringLike', ['viewer#*'], ['viewer#1'], true],
    ['StringLike', ['viewer#*'], ['rollout-state'], false],
    ['ForAllValues:StringLike', ['viewer#*'], ['viewer#1', 'viewer#2'], true],
    ['ForAllValues:StringLike', ['viewer#*'], ['viewer#1', 'rollout-state'], false],
    ['ForAllValues:StringLike', ['viewer#*'], undefined, true],
    ['ForAnyValue:StringEquals', ['a'], ['b', 'a'], true],
    [
      'ArnEquals',
      ['arn:aws:iam::aws:policy/service-role/*'],
      ['arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda'],
      true,
    ],
    ['Bool', ['false'], ['false'], true],
    ['Bool', ['false'], ['true'], false],
    ['Null', ['true'], undefined, true],
    ['Null', ['true'], ['x'], false],
    ['Null', ['false'], ['x'], true],
    ['NumericLessThan', ['10'], ['3'], true],
  ] as const)('%s %j against %j holds: %s', (operator, values, request, holds) => {
    const policies = {
      identity: statements({
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: TABLE,
        Condition: { [operator]: { 'dynamodb:LeadingKeys': values } },
      }),
    };
    const decision = decide(policies, {
      action: 'dynamodb:UpdateItem',
      resource: TABLE,
      ...(request ? { context: { 'dynamodb:LeadingKeys': request } } : {}),
    });
    expect(decision.allowed).toBe(holds);
  });

  it('refuses operators and policy variables it does not evaluate, rather than guess', () => {
    const unknown = {
      identity: statements({
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: TABLE,
        Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
      }),
    };
    expect(() => decide(unknown, { action: 'dynamodb:UpdateItem', resource: TABLE })).toThrow(
      /DateLessThan is not evaluated here/,
    );
    const variable = {
      identity: statements({
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: TABLE,
        Condition: { StringEquals: { 'dynamodb:LeadingKeys': '${aws:username}' } },
      }),
    };
    expect(() =>
      decide(variable, { action: 'dynamodb:UpdateItem', resource: TABLE, context: { 'dynamodb:LeadingKeys': ['x'] } }),
    ).toThrow(/policy variables are not evaluated here/);
  });
});
