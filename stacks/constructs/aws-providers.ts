/**
 * One AWS provider per region, each under an alias equal to its region code, plus us-east-1
 * (CloudFront, ACM for CloudFront, Lambda@Edge, Route53 health checks all live there). Every
 * resource in these stacks names its provider: there is no default provider, so nothing can land
 * in a region by accident.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';

export const US_EAST_1 = 'us-east-1';

export interface RegionalProvidersProps {
  /** Regions that need a provider; us-east-1 is always added. */
  readonly regions: readonly string[];
  /** Tags every resource of these providers carries. @default no tags */
  readonly defaultTags?: Readonly<Record<string, string>>;
}

export class RegionalProviders extends Construct {
  /** Where CloudFront, Lambda@Edge and its CodeDeploy/alarm companions live. */
  readonly usEast1: AwsProvider;
  /** us-east-1 first, then the configured regions in config order. */
  readonly regions: readonly string[];
  private readonly byRegion = new Map<string, AwsProvider>();

  constructor(scope: Construct, id: string, props: RegionalProvidersProps) {
    super(scope, id);
    this.regions = [...new Set([US_EAST_1, ...props.regions])];
    for (const region of this.regions) {
      this.byRegion.set(
        region,
        new AwsProvider(this, region, {
          alias: region,
          region,
          defaultTags: props.defaultTags ? [{ tags: { ...props.defaultTags } }] : undefined,
        }),
      );
    }
    this.usEast1 = this.forRegion(US_EAST_1);
  }

  forRegion(region: string): AwsProvider {
    const provider = this.byRegion.get(region);
    if (!provider) throw new Error(`no AWS provider for ${region}; configured: ${this.regions.join(', ')}`);
    return provider;
  }
}
