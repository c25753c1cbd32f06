/** Lambda: the functions, their aliases, permissions, invocations and event source mappings. */
import type { ResourceView } from '../grants';
import { lambdaFunction, passRole, type ResourcePermissions } from './shared';

/**
 * Resources whose Lambda actions are authorized on the function (`function_name =
 * aws_lambda_function.x.function_name`).
 */
const ownFunction = (r: ResourceView) => [lambdaFunction(r, r.scoped('function_name'))];

export const LAMBDA_RESOURCES: Readonly<Record<string, ResourcePermissions>> = {
  aws_lambda_function: {
    arns: (r) => [lambdaFunction(r, r.scoped('function_name'))],
    actions: {
      // Tags on create are authorized as TagResource; publish = true lists versions to find the new one.
      create: [
        'lambda:CreateFunction',
        'lambda:TagResource',
        'lambda:GetFunction',
        'lambda:ListVersionsByFunction',
        'lambda:PublishVersion',
      ],
      read: ['lambda:GetFunction', 'lambda:GetFunctionCodeSigningConfig', 'lambda:ListVersionsByFunction'],
      update: [
        'lambda:UpdateFunctionCode',
        'lambda:UpdateFunctionConfiguration',
        'lambda:GetFunctionConfiguration',
        'lambda:PublishVersion',
        'lambda:TagResource',
        'lambda:UntagResource',
      ],
      delete: ['lambda:DeleteFunction'],
    },
    also: (r) => [passRole(r, 'role', 'lambda.amazonaws.com')],
  },
  aws_lambda_alias: {
    arns: ownFunction,
    actions: {
      create: ['lambda:CreateAlias'],
      read: ['lambda:GetAlias'],
      update: ['lambda:UpdateAlias'],
      delete: ['lambda:DeleteAlias'],
    },
  },
  aws_lambda_permission: {
    arns: ownFunction,
    actions: {
      create: ['lambda:AddPermission'],
      read: ['lambda:GetPolicy'],
      update: ['lambda:AddPermission', 'lambda:RemovePermission'],
      delete: ['lambda:RemovePermission'],
    },
  },
  // Invoked once per apply that changes its input or triggers; a refresh and a destroy call nothing.
  aws_lambda_invocation: {
    arns: ownFunction,
    actions: { create: ['lambda:InvokeFunction'], update: ['lambda:InvokeFunction'] },
  },

  // A mapping is named by the id Lambda assigns (`event-source-mapping:<uuid>`): tagged, so narrowed
  // to the distribution's tag; and every write of one only for the stacks' own functions
  // (`lambda:FunctionArn`, which the reference gives Create/Update/DeleteEventSourceMapping). The
  // provider creates it with its tags (authorized as TagResource too), waits for it
  // (GetEventSourceMapping) and reads its tags (ListTags). The mapping reads the stream with the
  // function's role, not the caller's: no Kinesis permission here.
  aws_lambda_event_source_mapping: {
    arns: (r) => [r.arn('lambda', r.region, 'event-source-mapping:*')],
    actions: {
      create: ['lambda:TagResource', 'lambda:GetEventSourceMapping', 'lambda:ListTags'],
      read: ['lambda:GetEventSourceMapping', 'lambda:ListTags'],
      update: ['lambda:GetEventSourceMapping', 'lambda:TagResource', 'lambda:UntagResource'],
      delete: ['lambda:GetEventSourceMapping'],
    },
    conditional: {
      actions: {
        create: ['lambda:CreateEventSourceMapping'],
        update: ['lambda:UpdateEventSourceMapping'],
        delete: ['lambda:DeleteEventSourceMapping'],
      },
      condition: (r) => {
        const fn = r.scoped('function_name');
        return {
          operator: 'ArnLike',
          key: 'lambda:FunctionArn',
          values: [fn.startsWith('arn:') ? fn : lambdaFunction(r, fn)],
        };
      },
    },
  },
};

export const LAMBDA_DATA_SOURCES: Readonly<Record<string, ResourcePermissions>> = {
  // A version of a function the stacks create, read at plan time (the build the alias serves):
  // GetFunction with a qualifier, and the function's code signing configuration.
  aws_lambda_function: {
    arns: (r) => [lambdaFunction(r, r.scoped('function_name')), lambdaFunction(r, `${r.scoped('function_name')}:*`)],
    actions: { read: ['lambda:GetFunction', 'lambda:GetFunctionCodeSigningConfig'] },
  },
};
