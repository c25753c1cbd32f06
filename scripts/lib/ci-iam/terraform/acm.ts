/** ACM: certificates and their validation. */
import type { ResourcePermissions } from './shared';

export const ACM_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  aws_acm_certificate: {
    arns: (r) => [r.arn('acm', r.region, 'certificate/*')],
    actions: {
      // The provider requests the certificate with its tags: RequestCertificate and AddTagsToCertificate.
      create: ['acm:RequestCertificate', 'acm:AddTagsToCertificate', 'acm:DescribeCertificate'],
      read: ['acm:DescribeCertificate', 'acm:ListTagsForCertificate'],
      update: ['acm:AddTagsToCertificate', 'acm:RemoveTagsFromCertificate', 'acm:UpdateCertificateOptions'],
      delete: ['acm:DeleteCertificate'],
    },
  },
  aws_acm_certificate_validation: {
    arns: (r) => [r.arn('acm', r.region, 'certificate/*')],
    actions: { create: ['acm:DescribeCertificate'], read: ['acm:DescribeCertificate'] },
  },
};
