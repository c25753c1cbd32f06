/** Route 53: records, health checks and the hosted zone looked up by name. */
import { type Condition, PARTITION, type ResourceView, UNKNOWN } from '../grants';
import type { ResourcePermissions } from './shared';

/** The hosted zone a record lives in: its id when the JSON has it, any zone when it is looked up at plan time. */
const hostedZone = (zoneId: string) => `arn:${PARTITION}:route53:::hostedzone/${zoneId}`;

/** Names a record change may touch: route53:ChangeResourceRecordSetsNormalizedRecordNames values. */
function recordNames(r: ResourceView): Condition {
  let name = r.value('name').toLowerCase().replace(/\.$/, '');
  if (name === UNKNOWN) {
    // An ACM validation record is named `_<token>.<domain>` only once the certificate exists.
    const certificate = /\b(aws_acm_certificate\.[A-Za-z0-9_-]+)\.domain_validation_options\b/.exec(
      String(r.body.name),
    );
    const domain = certificate?.[1] === undefined ? undefined : r.lookup(certificate[1])?.value('domain_name');
    if (domain) name = `*.${domain.toLowerCase()}`;
  }
  return {
    operator: 'ForAllValues:StringLike',
    key: 'route53:ChangeResourceRecordSetsNormalizedRecordNames',
    values: [name],
  };
}

export const ROUTE53_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  aws_route53_record: {
    arns: (r) => [hostedZone(r.value('zone_id'))],
    actions: { create: ['route53:GetHostedZone'], read: ['route53:ListResourceRecordSets', 'route53:GetHostedZone'] },
    // Only the record names this stack manages, not the rest of the zone.
    conditional: {
      actions: {
        create: ['route53:ChangeResourceRecordSets'],
        update: ['route53:ChangeResourceRecordSets'],
        delete: ['route53:ChangeResourceRecordSets'],
      },
      condition: recordNames,
    },
    // Every change waits for INSYNC; changes have ids, not names.
    also: () => [
      {
        phases: { create: ['route53:GetChange'], update: ['route53:GetChange'], delete: ['route53:GetChange'] },
        resources: [`arn:${PARTITION}:route53:::change/*`],
      },
    ],
  },
  aws_route53_health_check: {
    arns: () => [`arn:${PARTITION}:route53:::healthcheck/*`],
    actions: {
      create: ['route53:CreateHealthCheck', 'route53:ChangeTagsForResource', 'route53:GetHealthCheck'],
      read: ['route53:GetHealthCheck', 'route53:ListTagsForResource'],
      update: ['route53:UpdateHealthCheck', 'route53:ChangeTagsForResource'],
      delete: ['route53:DeleteHealthCheck'],
    },
  },
};

export const ROUTE53_DATA_SOURCES: Readonly<Record<string, ResourcePermissions>> = {
  aws_route53_zone: {
    arns: () => [hostedZone(UNKNOWN)],
    // Looking a zone up by name lists zones first.
    actions: {
      read: [
        'route53:ListHostedZones',
        'route53:ListHostedZonesByName',
        'route53:GetHostedZone',
        'route53:ListTagsForResource',
      ],
    },
  },
};
