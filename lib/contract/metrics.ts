/**
 * The metrics the functions emit as CloudWatch Embedded Metric Format lines on stdout (no PutMetricData call,
 * no permission), and the construct alarms on.
 */
export const METRICS = {
  namespace: "Sparkless",
  /** The one dimension: the pipeline's name. */
  dimension: "Pipeline",
  /** Records written to the dead-letter prefix (count). */
  deadLetterRecords: "DeadLetterRecords",
  /** Event-time records written to the late prefix (count). */
  lateRecords: "LateRecords",
  /** Batch times due and not finalized, logged by each tick (a gauge: alarm on its maximum). */
  pendingBatches: "PendingBatches",
} as const;
