/**
 * What Terraform's AWS provider calls for each resource and data source type the stacks use, by
 * phase (create, refresh, update, delete), and on which ARN. Each resource's name and region in
 * the Terraform JSON fill the ARN in.
 *
 * One file per AWS service holds that service's types and their calls (s3.ts, cloudfront.ts,
 * lambda.ts, ...); shared.ts holds the entries' type and the ARN builders more than one service uses,
 * state-backend.ts the state backend. This file joins the services' tables into the two the
 * generator looks types up in, and refuses a type two services define.
 *
 * Where the action lists come from: the Terraform AWS provider's resource documentation and source
 * (which API calls a resource makes, including waiters and tag reads), and the service guides named
 * at the entries that need more than their own API (Lambda@Edge, CloudFront standard logs, the
 * role a real-time log configuration passes to CloudFront, the S3 state backend). How each action
 * is authorized (on which resource type, whether it takes a resource at all, which condition keys
 * it supports) is not written here: the generator (../index.ts) asks AWS's service authorization reference
 * (stacks/policy/iam-reference.ts), and the tests check every action against it.
 *
 * Tag actions sit in create (the provider tags on create, and the stacks' providers set default tags
 * on everything), read (it refreshes tags) and update.
 */
import { ACM_RESOURCES } from './acm';
import { CLOUDFRONT_RESOURCES } from './cloudfront';
import { CLOUDWATCH_RESOURCES } from './cloudwatch';
import { CODEDEPLOY_RESOURCES } from './codedeploy';
import { DYNAMODB_RESOURCES } from './dynamodb';
import { EVENTS_RESOURCES } from './events';
import { IAM_RESOURCES } from './iam';
import { KINESIS_RESOURCES } from './kinesis';
import { KMS_DATA_SOURCES } from './kms';
import { LAMBDA_DATA_SOURCES, LAMBDA_RESOURCES } from './lambda';
import { LOGS_RESOURCES } from './logs';
import { PROVIDER_DATA_SOURCES } from './provider';
import { ROUTE53_DATA_SOURCES, ROUTE53_RESOURCES } from './route53';
import { S3_RESOURCES } from './s3';
import { SNS_RESOURCES } from './sns';
import type { ResourcePermissions } from './shared';
import { STATE_BACKEND_DATA_SOURCES } from './state-backend';

export type { ResourcePermissions } from './shared';
export { stateBackendGrants } from './state-backend';

type Table = Readonly<Record<string, ResourcePermissions>>;

/**
 * The services' tables as one, keyed by type. Each type has one entry, in one file: a type two files
 * define throws, naming both.
 */
export function assemble(kind: string, tables: Readonly<Record<string, Table>>): Table {
  const files = new Map<string, string>();
  const entries: [string, ResourcePermissions][] = [];
  for (const [file, table] of Object.entries(tables)) {
    for (const [type, permissions] of Object.entries(table)) {
      const other = files.get(type);
      if (other !== undefined) {
        throw new Error(
          `The ${kind} type ${type} is in two service files, terraform/${other}.ts and terraform/${file}.ts: keep one.`,
        );
      }
      files.set(type, file);
      entries.push([type, permissions]);
    }
  }
  return Object.fromEntries(entries);
}

export const RESOURCE_PERMISSIONS: Table = assemble('resource', {
  s3: S3_RESOURCES,
  cloudfront: CLOUDFRONT_RESOURCES,
  lambda: LAMBDA_RESOURCES,
  iam: IAM_RESOURCES,
  codedeploy: CODEDEPLOY_RESOURCES,
  cloudwatch: CLOUDWATCH_RESOURCES,
  logs: LOGS_RESOURCES,
  events: EVENTS_RESOURCES,
  dynamodb: DYNAMODB_RESOURCES,
  kinesis: KINESIS_RESOURCES,
  sns: SNS_RESOURCES,
  route53: ROUTE53_RESOURCES,
  acm: ACM_RESOURCES,
});

export const DATA_SOURCE_PERMISSIONS: Table = assemble('data source', {
  provider: PROVIDER_DATA_SOURCES,
  lambda: LAMBDA_DATA_SOURCES,
  kms: KMS_DATA_SOURCES,
  route53: ROUTE53_DATA_SOURCES,
  'state-backend': STATE_BACKEND_DATA_SOURCES,
});
