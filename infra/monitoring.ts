/**
 * The pipeline's alarms and dashboard. They have no actions: add yours (`pipeline.iteratorAgeAlarm.addAlarmAction(...)`).
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as kinesis from "aws-cdk-lib/aws-kinesis";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { BUCKET_PREFIXES, METRICS } from "../lib/contract/index.js";

/** What the monitoring watches. */
export interface MonitoredPipeline {
  readonly pipelineName: string;
  /** The Kinesis stream (its own iterator age joins the dashboard); undefined on Kafka. */
  readonly stream: kinesis.IStream | undefined;
  readonly shardFunction: lambda.IFunction;
  /** On Kafka, the lag alarm watches the shard function's OffsetLag (records) above this, not its IteratorAge. */
  readonly offsetLagAlarmThreshold?: number;
  readonly functions: ReadonlyArray<[label: string, fn: lambda.IFunction]>;
  readonly iteratorAgeAlarmThreshold: Duration;
  /** The batch interval, in ms: the backlog alarm allows five minutes' worth of batches, and at least 30. */
  readonly batchIntervalMs: number;
  metricIteratorAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricDeadLetterRecords(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricEventSource(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** A metric the functions emit (Embedded Metric Format), dimension `Pipeline`. */
export function pipelineMetric(pipelineName: string, metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS.namespace,
    metricName,
    dimensionsMap: { [METRICS.dimension]: pipelineName },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
    ...props,
  });
}

export function pipelineAlarms(scope: Construct, p: MonitoredPipeline) {
  const name = p.pipelineName;
  const lag = lagOf(p);
  const iteratorAgeAlarm = lag.metric.createAlarm(scope, "IteratorAgeAlarm", {
    alarmDescription: `sparkless ${name}: the shard handler lags the ${p.stream ? "stream" : "topic"} by more than ${lag.text}; batches after the lag cannot finalize.`,
    threshold: lag.threshold,
    evaluationPeriods: 3,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    // No invocations, no data points: an idle stream is not a lagging one.
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const deadLetterAlarm = p.metricDeadLetterRecords().createAlarm(scope, "DeadLetterAlarm", {
    alarmDescription: `sparkless ${name}: records were written to ${BUCKET_PREFIXES.deadLetter} (undecodable, or a user function threw).`,
    threshold: 0,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const discardDeliveryAlarm = p.shardFunction
    .metric("DestinationDeliveryFailures", { statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) })
    .createAlarm(scope, "DiscardDeliveryAlarm", {
      alarmDescription: `sparkless ${name}: Lambda discarded records and could not write them to ${BUCKET_PREFIXES.esmFailures} in the bucket.`,
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  // A finalization stall (a batch that keeps failing to finalize, a lost grant) holds every later batch back while
  // the shards go on committing; the backlog says so long before parts expire (7 days).
  const backlogThreshold = Math.max(30, Math.ceil(300_000 / p.batchIntervalMs));
  const backlogAlarm = pipelineMetric(name, METRICS.pendingBatches, { statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1) }).createAlarm(scope, "BacklogAlarm", {
    alarmDescription: `sparkless ${name}: more than ${backlogThreshold} batches are due and not finalized; the finalizer is stalled or failing (see the ticker's and finalizer's logs).`,
    threshold: backlogThreshold,
    evaluationPeriods: 3,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  return { iteratorAgeAlarm, deadLetterAlarm, discardDeliveryAlarm, backlogAlarm };
}

/** How far the shard handler lags: Kinesis' IteratorAge (ms), or Kafka's OffsetLag (records). */
function lagOf(p: MonitoredPipeline): { metric: cloudwatch.Metric; threshold: number; text: string; title: string; label: string } {
  if (p.offsetLagAlarmThreshold !== undefined) {
    return {
      metric: p.shardFunction.metric("OffsetLag", { statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1) }),
      threshold: p.offsetLagAlarmThreshold,
      text: `${p.offsetLagAlarmThreshold} records`,
      title: "Offset lag (records)",
      label: "shard handler OffsetLag",
    };
  }
  return { metric: p.metricIteratorAge(), threshold: p.iteratorAgeAlarmThreshold.toMilliseconds(), text: p.iteratorAgeAlarmThreshold.toHumanString(), title: "Iterator age (ms)", label: "shard handler IteratorAge" };
}

export function pipelineDashboard(scope: Construct, p: MonitoredPipeline): cloudwatch.Dashboard {
  const perFunction = (title: string, metric: (fn: lambda.IFunction) => cloudwatch.IMetric) =>
    new cloudwatch.GraphWidget({
      title,
      width: 6,
      left: p.functions.map(([label, fn]) => (metric(fn) as cloudwatch.Metric).with({ label })),
    });
  const dashboard = new cloudwatch.Dashboard(scope, "Dashboard");
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: lagOf(p).title,
      width: 12,
      left: [
        lagOf(p).metric.with({ label: lagOf(p).label }),
        ...(p.stream ? [p.stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: cloudwatch.Stats.MAXIMUM, label: "stream GetRecords.IteratorAgeMilliseconds" })] : []),
      ],
      leftAnnotations: [{ value: lagOf(p).threshold, label: "lag alarm" }],
    }),
    new cloudwatch.GraphWidget({
      title: "Dead letters and discarded batches",
      width: 12,
      left: [p.metricDeadLetterRecords({ label: METRICS.deadLetterRecords })],
      right: [
        p.metricEventSource("OnFailureDestinationDeliveredEventCount", { label: "discarded to S3 (records)" }),
        p.shardFunction.metric("DestinationDeliveryFailures", { statistic: cloudwatch.Stats.SUM, label: "discard delivery failures" }),
      ],
    }),
  );
  dashboard.addWidgets(
    perFunction("Invocations", (fn) => fn.metricInvocations({ statistic: cloudwatch.Stats.SUM })),
    perFunction("Errors", (fn) => fn.metricErrors({ statistic: cloudwatch.Stats.SUM })),
    perFunction("Duration (p99, ms)", (fn) => fn.metricDuration({ statistic: cloudwatch.Stats.p(99) })),
    perFunction("Throttles", (fn) => fn.metricThrottles({ statistic: cloudwatch.Stats.SUM })),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: "Event-source mapping (records)",
      width: 24,
      left: ["PolledEventCount", "InvokedEventCount", "FailedInvokeEventCount", "DroppedEventCount"].map((metricName) => p.metricEventSource(metricName, { label: metricName })),
    }),
  );
  return dashboard;
}
