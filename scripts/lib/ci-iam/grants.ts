/**
 * The vocabulary of the CI roles' generator: a Grant (actions by Terraform phase, on resources,
 * under conditions) and a ResourceView (one resource of the synthesized JSON, with its names and
 * ARNs resolved). Pure: Terraform JSON in, grants out.
 */
import type { Block, Element, Json, TerraformJson } from '../../../stacks/policy/terraform-json';
import { find } from '../../../stacks/policy/terraform-json';
import { resolveText } from '../../../stacks/policy/arns';

export const ACCOUNT_PLACEHOLDER = '<account>';
/** Every ARN here is in the commercial partition; the stacks themselves read theirs at plan time. */
export const PARTITION = 'aws';
/** What Terraform learns only at apply (ids, computed names): the ARN part it fills matches anything. */
export const UNKNOWN = '*';

export type Phase = 'create' | 'read' | 'update' | 'delete';
export const PHASES: readonly Phase[] = ['create', 'read', 'update', 'delete'];
export type Phases = Readonly<Partial<Record<Phase, readonly string[]>>>;

/** `{ operator: { key: values } }`: one operator and one key per condition; a grant's conditions all hold. */
export interface Condition {
  readonly operator: string;
  readonly key: string;
  readonly values: readonly string[];
}

/** Actions (by phase) allowed on resources, under every one of its conditions. */
export interface Grant {
  readonly phases: Phases;
  readonly resources: readonly string[];
  readonly conditions?: readonly Condition[];
}

/** One resource of the synthesized JSON, as the permission tables see it. */
export interface ResourceView {
  readonly type: string;
  readonly address: string;
  readonly body: Block;
  /** Its provider's region; `*` when the JSON names none (a wider grant, never a missing one). */
  readonly region: string;
  /** The default tags of its provider (every taggable resource carries them). */
  readonly defaultTags: Readonly<Record<string, string>>;
  /** The attribute with `${…}` references resolved where the JSON knows the value; `*` where only apply does. */
  value(attribute: string): string;
  /** value(), narrowed to the distribution's name prefix (`<name>-…` → `<name>-*`). */
  scoped(attribute: string): string;
  /** Any text of the stack with its references resolved, as value() resolves an attribute. */
  text(value: string): string;
  /** The resource an attribute (or a value) refers to, as `${type.name.attr}`. */
  target(attribute: string): ResourceView | undefined;
  targetOf(value: Json | undefined): ResourceView | undefined;
  /** Another resource of the same stack, by address. */
  lookup(address: string): ResourceView | undefined;
  /** `arn:aws:<service>:<region>:<account>:<resource>`; region '' for global services. */
  arn(service: string, region: string, resource: string): string;
}

const EXACT_REFERENCE = /^\$\{((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\.([a-z0-9_]+)\}$/;

export class ResourceViews {
  constructor(
    private readonly tf: TerraformJson,
    private readonly name: string,
    private readonly account: string,
  ) {}

  of(element: Element): ResourceView {
    const views = this;
    const provider = this.providerOf(element);
    return {
      type: element.type,
      address: element.address,
      body: element.body,
      region: typeof provider?.region === 'string' ? provider.region : UNKNOWN,
      defaultTags: defaultTagsOf(provider),
      value: (attribute) => this.resolve(element.body[attribute]),
      scoped: (attribute) => this.scope(this.resolve(element.body[attribute])),
      text: (value) => this.resolve(value),
      target(attribute) {
        return views.targetOf(element.body[attribute]);
      },
      targetOf: (value) => this.targetOf(value),
      lookup: (address) => {
        const found = find(this.tf, address);
        return found ? this.of(found) : undefined;
      },
      arn: (service, region, resource) => `arn:${PARTITION}:${service}:${region}:${this.account}:${resource}`,
    };
  }

  private targetOf(value: Json | undefined): ResourceView | undefined {
    const address = typeof value === 'string' ? EXACT_REFERENCE.exec(value)?.[1] : undefined;
    const element = address === undefined ? undefined : find(this.tf, address);
    return element ? this.of(element) : undefined;
  }

  private providerOf(element: Element): Block | undefined {
    const provider = element.body.provider;
    if (typeof provider !== 'string' || !provider.startsWith('aws.')) return undefined;
    return (this.tf.provider?.aws ?? []).find((p) => p.alias === provider.slice(4));
  }

  private resolve(value: Json | undefined): string {
    return resolveText(this.tf, value, { account: this.account, partition: PARTITION, unknown: () => UNKNOWN });
  }

  /**
   * `/aws/lambda/widget-entry-router` → `/aws/lambda/widget-*`: everything of this distribution, nothing of another
   * name.
   */
  private scope(value: string): string {
    const marker = `${this.name}-`;
    const at = value.indexOf(marker);
    return at < 0 ? value : `${value.slice(0, at + marker.length)}*`;
  }
}

function defaultTagsOf(provider: Block | undefined): Record<string, string> {
  const blocks = Array.isArray(provider?.default_tags) ? provider.default_tags : [];
  const tags = (blocks[0] as Block | undefined)?.tags;
  return tags && typeof tags === 'object' && !Array.isArray(tags)
    ? Object.fromEntries(
        Object.entries(tags).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
      )
    : {};
}
