import { resourceNames } from '../../config';
import { bodies, only, ref, synthesize, testConfig } from './support';

describe('the release notifications topic', () => {
  it(
    'is one topic per distribution, encrypted with the AWS ' +
      'managed key, with no subscription the config does not list',
    () => {
      const { delivery, config } = synthesize(testConfig());
      const topic = only(delivery, 'aws_sns_topic');
      expect(topic).toMatchObject({
        name: resourceNames(config).notificationTopic,
        kms_master_key_id: 'alias/aws/sns',
        provider: 'aws.us-east-1',
      });
      // Only rollout sync publishes (by its role): no topic policy lets a service or another account in.
      expect(bodies(delivery, 'aws_sns_topic_policy')).toEqual([]);
      expect(bodies(delivery, 'aws_sns_topic_subscription')).toEqual([]);
    },
  );

  it(
    'subscribes each configured address by email and each ' + 'webhook by HTTPS, without waiting for a confirmation',
    () => {
      const { delivery } = synthesize(
        testConfig({
          notifications: {
            emails: ['releases@example.com', 'oncall@example.com'],
            webhooks: ['https://hooks.example.com/widget'],
          },
        }),
      );
      const topicArn = ref(delivery, 'aws_sns_topic', only(delivery, 'aws_sns_topic'), 'arn');
      const subscriptions = bodies(delivery, 'aws_sns_topic_subscription').map((s) => ({
        topic: s.topic_arn,
        protocol: s.protocol,
        endpoint: s.endpoint,
        autoConfirms: s.endpoint_auto_confirms,
      }));
      expect(subscriptions).toEqual([
        { topic: topicArn, protocol: 'email', endpoint: 'releases@example.com', autoConfirms: undefined },
        { topic: topicArn, protocol: 'email', endpoint: 'oncall@example.com', autoConfirms: undefined },
        { topic: topicArn, protocol: 'https', endpoint: 'https://hooks.example.com/widget', autoConfirms: false },
      ]);
    },
  );
});
