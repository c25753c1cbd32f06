import { resourceNames } from '../../config';

describe('derived names', () => {
  it('derives globally distinct, stable bucket names within S3 limits', () => {
    const names = resourceNames({ name: 'edge-widget', domain: 'widget.example.com' });
    const other = resourceNames({ name: 'edge-widget', domain: 'widget.example.org' });
    expect(names.bucket('ap-southeast-2')).toMatch(/^edge-widget-ap-southeast-2-[0-9a-f]{8}$/);
    expect(names.bucket('eu-west-1')).not.toBe(other.bucket('eu-west-1'));
    expect(names.bucket('ap-northeast-3').length).toBeLessThanOrEqual(63);
    expect(names.bucketDomain('eu-west-1')).toBe(`${names.bucket('eu-west-1')}.s3.eu-west-1.amazonaws.com`);
    expect(names.rolloutStore).toBe('edge-widget-rollout');
    expect(names.viewerAssignment).toBe('edge-widget-viewer-assignment');
  });
});
