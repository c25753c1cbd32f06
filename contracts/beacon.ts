/**
 * The beacon a widget posts to the metrics API, defined once: the API validates with the schema,
 * the webapp builds its payload from the type (a type-only import: nothing of this reaches the
 * entry bundle).
 */
import * as z from 'zod/mini';
import { BUILD_ID_PATTERN } from './build-id';

export const BEACON_EVENT_NAMES = ['load', 'error'] as const;
/** Characters of an error message the widget sends (it cuts longer ones). */
export const MAX_MESSAGE_LENGTH = 200;
/** Hard cap on events per beacon; the configured `metrics.maxBatch` (MAX_BATCH) is at most this. */
export const MAX_EVENTS_PER_BEACON = 100;

export const beaconEventSchema = z.strictObject({
  name: z.enum(BEACON_EVENT_NAMES),
  message: z.optional(z.string().check(z.maxLength(MAX_MESSAGE_LENGTH))),
});

export const beaconSchema = z.strictObject({
  v: z.literal(1),
  buildId: z.string().check(z.refine((value) => BUILD_ID_PATTERN.test(value), 'must be 16 lowercase hex characters')),
  events: z.array(beaconEventSchema).check(z.minLength(1), z.maxLength(MAX_EVENTS_PER_BEACON)),
});

export type Beacon = z.infer<typeof beaconSchema>;
export type BeaconEvent = z.infer<typeof beaconEventSchema>;
export type BeaconEventName = BeaconEvent['name'];
