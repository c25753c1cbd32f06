/**
 * What the build ships, from its manifest: the entry a host page loads on every visit (raw, gzip,
 * brotli), the chunks behind it, and every function zip.
 */
import { CLOUDFRONT_FUNCTION_MAX_BYTES } from '../../edge-code/cloudfront-function';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';

export const buildOutput: BenchSection = {
  id: 'build-output',
  title: 'Build output: entry, chunks, zips',
  async run({ manifest }: BenchContext): Promise<SectionResult> {
    const chunks = manifest.assets.filter((asset) => asset.key.endsWith('.js') && asset.key !== manifest.entry.key);
    const sum = (pick: (asset: (typeof chunks)[number]) => number) =>
      chunks.reduce((total, asset) => total + pick(asset), 0);
    const figures: Figure[] = [
      { name: 'entry index.js, raw', value: manifest.entry.bytes, unit: 'B' },
      { name: 'entry index.js, gzip', value: manifest.entry.gzipBytes, unit: 'B' },
      { name: 'entry index.js, brotli', value: manifest.entry.brotliBytes, unit: 'B', target: 2048 },
      { name: 'async chunks', value: manifest.chunkCount, unit: 'count' },
      { name: 'async chunks total, raw', value: sum((asset) => asset.bytes), unit: 'B' },
      { name: 'async chunks total, gzip', value: sum((asset) => asset.variants.gzip?.bytes ?? asset.bytes), unit: 'B' },
      { name: 'async chunks total, brotli', value: sum((asset) => asset.variants.br?.bytes ?? asset.bytes), unit: 'B' },
      ...Object.entries(manifest.functions).map(
        ([name, fn]): Figure => ({ name: `zip ${name} (${fn.kind})`, value: fn.bytes, unit: 'B' }),
      ),
      ...Object.entries(manifest.cloudFrontFunctions).map(
        ([name, fn]): Figure => ({
          name: `CloudFront Function ${name}`,
          value: fn.bytes,
          unit: 'B',
          target: CLOUDFRONT_FUNCTION_MAX_BYTES,
        }),
      ),
    ];
    return {
      figures,
      notes: [
        'From build/manifest.json. Every load asks for index.js (browsers revalidate it; CloudFront keeps it ' +
          'per build); the chunks are fetched once per viewer and cached by CloudFront for a year ' +
          '(immutable URLs).',
        "Zips are deterministic; the entry router's carries index.js inlined (plain, gzip, brotli), and, like " +
          "rollout sync's, the KeyValueStore client with its SigV4A signer. The CloudFront Function is checked " +
          'against its 10 KB quota at build time.',
      ],
      data: {
        buildId: manifest.buildId,
        chunks: chunks.map((asset) => ({ key: asset.key, bytes: asset.bytes, br: asset.variants.br?.bytes })),
      },
    };
  },
};
