/**
 * The live-check role's trust policy: who may assume it, by GitHub's OIDC token. Only drift.yml's
 * runs on `main` (its daily schedule, or a run started by hand from `main`): a pull request's runs
 * (`sub` `…:pull_request`, `job_workflow_ref` `…@refs/pull/<n>/merge`), another branch's, another
 * workflow's on `main` and another repository's are all refused. So nothing a pull request changes
 * ever runs with it, and the plan role, which a pull request's plan gets, gains no read for the check.
 *
 * Every condition key is checked before the document is returned: `aud` and `sub` are the keys IAM
 * gives every OIDC provider (IAM User Guide, "Available keys for AWS OIDC federation"), which the
 * service authorization reference does not list; every other key must be one the reference lists for
 * sts:AssumeRoleWithWebIdentity (GitHub's `job_workflow_ref` is).
 */
import { conditionKeySupported, referenceAction } from '../../../stacks/policy/iam-reference';
import { ACCOUNT_PLACEHOLDER, PARTITION } from './grants';

/** GitHub Actions' OIDC issuer, as the IAM identity provider is named after it. */
export const GITHUB_OIDC_PROVIDER = 'token.actions.githubusercontent.com';
/** The audience configure-aws-credentials asks GitHub for. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';
/** Stands for the GitHub repository, `owner/name` as GitHub spells it: replace it, or pass one. */
export const REPOSITORY_PLACEHOLDER = '<owner>/<repo>';
/** The workflow whose runs may assume the live-check role, and the one branch they run on. */
export const LIVE_CHECK_WORKFLOW = '.github/workflows/drift.yml';
export const DEFAULT_BRANCH_REF = 'refs/heads/main';

/** IAM's own keys of every OIDC provider, `<provider>:<key>`: not in the service authorization reference. */
const OIDC_FEDERATION_KEYS = ['aud', 'sub'];

const ASSUME = 'sts:AssumeRoleWithWebIdentity';

export interface TrustStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Principal: { readonly Federated: string };
  readonly Action: readonly string[];
  readonly Condition: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

export interface TrustPolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly TrustStatement[];
}

export interface TrustOptions {
  /** @default '<account>' */
  readonly account?: string;
  /** `owner/name`. @default '<owner>/<repo>' */
  readonly repository?: string;
}

/** The OIDC claims of a job in drift.yml, run on `main`, that the role trusts. */
export function liveCheckRoleTrust(options: TrustOptions = {}): TrustPolicyDocument {
  const account = options.account ?? ACCOUNT_PLACEHOLDER;
  const repository = options.repository ?? REPOSITORY_PLACEHOLDER;
  if (repository !== REPOSITORY_PLACEHOLDER && !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository))
    throw new Error(`${JSON.stringify(repository)} is not a GitHub repository as owner/name`);
  const claim = (key: string) => `${GITHUB_OIDC_PROVIDER}:${key}`;
  const conditions: Record<string, string[]> = {
    [claim('aud')]: [GITHUB_OIDC_AUDIENCE],
    // Every run on main of any workflow of the repository...
    [claim('sub')]: [`repo:${repository}:ref:${DEFAULT_BRANCH_REF}`],
    // ...and of this workflow file, as it is on main.
    [claim('job_workflow_ref')]: [`${repository}/${LIVE_CHECK_WORKFLOW}@${DEFAULT_BRANCH_REF}`],
  };
  const reference = referenceAction(ASSUME);
  if (!reference) throw new Error(`${ASSUME} is not an action in AWS's service authorization reference`);
  for (const key of Object.keys(conditions)) {
    const own = OIDC_FEDERATION_KEYS.some((name) => key === claim(name));
    if (!own && !conditionKeySupported(reference, key))
      throw new Error(`${ASSUME} does not support the condition key ${key} (AWS's service authorization reference)`);
  }
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DriftWorkflowOnMain',
        Effect: 'Allow',
        Principal: { Federated: `arn:${PARTITION}:iam::${account}:oidc-provider/${GITHUB_OIDC_PROVIDER}` },
        Action: [reference.id],
        Condition: { StringEquals: conditions },
      },
    ],
  };
}
