/**
 * Commercial AWS regions this project knows, with what decides whether a region can hold a replica
 * bucket and which configured region is nearest to a Lambda@Edge execution region.
 *
 * `launched` matters because CloudFront's origin access identity (OAI), which the chunk router
 * needs (OAC cannot follow an origin rewritten by Lambda@Edge), does not work with S3 buckets in
 * regions launched after December 2022. Coordinates are the region's metro area, good enough for
 * great-circle "nearest region" when DNS cannot answer.
 */
export interface AwsRegion {
  readonly code: string;
  readonly location: string;
  readonly lat: number;
  readonly lon: number;
  /** Year-month the region opened. */
  readonly launched: string;
}

export const AWS_REGIONS: readonly AwsRegion[] = [
  { code: 'us-east-1', location: 'N. Virginia', lat: 38.9, lon: -77.4, launched: '2006-08' },
  { code: 'us-east-2', location: 'Ohio', lat: 40.0, lon: -83.0, launched: '2016-10' },
  { code: 'us-west-1', location: 'N. California', lat: 37.4, lon: -122.0, launched: '2009-12' },
  { code: 'us-west-2', location: 'Oregon', lat: 45.8, lon: -119.7, launched: '2011-11' },
  { code: 'ca-central-1', location: 'Montreal', lat: 45.5, lon: -73.6, launched: '2016-12' },
  { code: 'ca-west-1', location: 'Calgary', lat: 51.0, lon: -114.1, launched: '2023-12' },
  { code: 'mx-central-1', location: 'Queretaro', lat: 20.6, lon: -100.4, launched: '2025-01' },
  { code: 'sa-east-1', location: 'Sao Paulo', lat: -23.5, lon: -46.6, launched: '2011-12' },
  { code: 'eu-west-1', location: 'Ireland', lat: 53.3, lon: -6.3, launched: '2007-12' },
  { code: 'eu-west-2', location: 'London', lat: 51.5, lon: -0.1, launched: '2016-12' },
  { code: 'eu-west-3', location: 'Paris', lat: 48.9, lon: 2.35, launched: '2017-12' },
  { code: 'eu-central-1', location: 'Frankfurt', lat: 50.1, lon: 8.7, launched: '2014-10' },
  { code: 'eu-central-2', location: 'Zurich', lat: 47.4, lon: 8.5, launched: '2022-11' },
  { code: 'eu-north-1', location: 'Stockholm', lat: 59.3, lon: 18.1, launched: '2018-12' },
  { code: 'eu-south-1', location: 'Milan', lat: 45.5, lon: 9.2, launched: '2020-04' },
  { code: 'eu-south-2', location: 'Spain', lat: 41.6, lon: -0.9, launched: '2022-11' },
  { code: 'il-central-1', location: 'Tel Aviv', lat: 32.1, lon: 34.8, launched: '2023-08' },
  { code: 'me-south-1', location: 'Bahrain', lat: 26.1, lon: 50.6, launched: '2019-07' },
  { code: 'me-central-1', location: 'UAE', lat: 24.5, lon: 54.4, launched: '2022-08' },
  { code: 'af-south-1', location: 'Cape Town', lat: -33.9, lon: 18.4, launched: '2020-04' },
  { code: 'ap-south-1', location: 'Mumbai', lat: 19.1, lon: 72.9, launched: '2016-06' },
  { code: 'ap-south-2', location: 'Hyderabad', lat: 17.4, lon: 78.5, launched: '2022-11' },
  { code: 'ap-east-1', location: 'Hong Kong', lat: 22.3, lon: 114.2, launched: '2019-04' },
  { code: 'ap-east-2', location: 'Taipei', lat: 25.0, lon: 121.5, launched: '2025-06' },
  { code: 'ap-southeast-1', location: 'Singapore', lat: 1.35, lon: 103.8, launched: '2010-04' },
  { code: 'ap-southeast-2', location: 'Sydney', lat: -33.9, lon: 151.2, launched: '2012-11' },
  { code: 'ap-southeast-3', location: 'Jakarta', lat: -6.2, lon: 106.8, launched: '2021-12' },
  { code: 'ap-southeast-4', location: 'Melbourne', lat: -37.8, lon: 145.0, launched: '2023-01' },
  { code: 'ap-southeast-5', location: 'Malaysia', lat: 3.1, lon: 101.7, launched: '2024-08' },
  { code: 'ap-southeast-6', location: 'New Zealand', lat: -36.8, lon: 174.8, launched: '2025-09' },
  { code: 'ap-southeast-7', location: 'Thailand', lat: 13.75, lon: 100.5, launched: '2025-01' },
  { code: 'ap-northeast-1', location: 'Tokyo', lat: 35.7, lon: 139.7, launched: '2011-03' },
  { code: 'ap-northeast-2', location: 'Seoul', lat: 37.6, lon: 127.0, launched: '2016-01' },
  { code: 'ap-northeast-3', location: 'Osaka', lat: 34.7, lon: 135.5, launched: '2018-02' },
];

const byCode = new Map(AWS_REGIONS.map((region) => [region.code, region]));

export function findRegion(code: string): AwsRegion | undefined {
  return byCode.get(code);
}

/** OAI works only with S3 buckets in regions launched before December 2022. */
export function supportsOriginAccessIdentity(code: string): boolean {
  const region = byCode.get(code);
  return region !== undefined && region.launched < '2022-12';
}

/** Great-circle distance in km. */
export function distanceKm(a: AwsRegion, b: AwsRegion): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

/**
 * For every known region, the nearest of `candidates` (ties keep the candidates' order). This is
 * the static table the chunk router falls back to when the latency record cannot be resolved.
 */
export function nearestRegionTable(candidates: readonly string[]): Record<string, string> {
  const targets = candidates.map((code) => {
    const region = byCode.get(code);
    if (!region) throw new Error(`nearestRegionTable: unknown region ${code}`);
    return region;
  });
  const [first] = targets;
  if (first === undefined) throw new Error('nearestRegionTable: no candidate regions');
  const table: Record<string, string> = {};
  for (const from of AWS_REGIONS) {
    let best = first;
    for (const target of targets) if (distanceKm(from, target) < distanceKm(from, best)) best = target;
    table[from.code] = best.code;
  }
  return table;
}

/**
 * Where Lambda@Edge writes the logs of an origin-request function: the AWS region of the regional
 * edge cache that ran it, for every regional edge cache that serves the edge locations of the
 * distribution's price class (CloudFront developer guide, "Edge function logs" and "How CloudFront
 * works", regional edge caches; 13 as listed by AWS and Gruntwork's terraform-aws-lambda, read
 * 2026-11). A narrower price class leaves out the caches of the continents it leaves out.
 */
export const REGIONAL_EDGE_CACHE_REGIONS = {
  // North America, Europe, Israel.
  PriceClass_100: ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-central-1', 'eu-west-1', 'eu-west-2'],
  // … and Asia, the Middle East, Africa.
  PriceClass_200: [
    'us-east-1',
    'us-east-2',
    'us-west-1',
    'us-west-2',
    'eu-central-1',
    'eu-west-1',
    'eu-west-2',
    'ap-south-1',
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-southeast-1',
  ],
  // … and South America, Australia and New Zealand.
  PriceClass_All: [
    'us-east-1',
    'us-east-2',
    'us-west-1',
    'us-west-2',
    'eu-central-1',
    'eu-west-1',
    'eu-west-2',
    'ap-south-1',
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-southeast-1',
    'ap-southeast-2',
    'sa-east-1',
  ],
} as const satisfies Record<string, readonly string[]>;
