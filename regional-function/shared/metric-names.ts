/** CloudWatch metrics the metrics API and rollout sync publish, and the alarms read. */
export const METRIC_LOADS = 'Loads';
export const METRIC_ERRORS = 'Errors';
/** Canary weight in basis points, published by rollout sync. */
export const METRIC_ROLLOUT_WEIGHT = 'RolloutWeight';
export const DIMENSION_BUILD_ID = 'BuildId';
