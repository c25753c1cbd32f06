/**
 * The CodeDeploy deployment config that moves every viewer at once: named by the delivery stack
 * (the release function may use it, so its policy names it) and by the release path (a release of
 * the build already live, and a rollback to the stable build, need no steps).
 */
export const ALL_AT_ONCE_CONFIG = 'CodeDeployDefault.LambdaAllAtOnce';
