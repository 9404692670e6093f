/**
 * The {{name}} pipeline: page views per batch and running totals per page, from JSON clicks on a Kinesis
 * stream. The same definition runs on the local engine (`npx sparkless run pipelines/{{name}}.ts`), in the tests
 * (test/{{name}}.test.ts), on the embedded AWS stack (`npm start`) and on AWS (`npx cdk deploy`).
 */
import { definePipeline, Seconds } from "sparkless";

/** One click, as producers put it on the stream: `{"user":"ann","page":"/home"}`. */
export interface Click {
  readonly user: string;
  readonly page: string;
}

const add = (a: number, b: number) => a + b;

export default definePipeline<Click>(
  "{{name}}",
  {
    batchInterval: Seconds(5),
    // A record that is not JSON goes to the dead letters (s3://<bucket>/dead-letter/), never stops the stream.
    decoder: (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as Click,
  },
  (clicks) => {
    const views = clicks.map((click) => [click.page, 1] as [string, number]);

    const perBatch = views.reduceByKey(add);
    perBatch.print();
    perBatch.saveAsTextFiles("{{name}}/per-page", "txt");

    views
      .updateStateByKey((counts: number[], total: number | undefined) => (total ?? 0) + counts.reduce(add, 0), { name: "page-totals" })
      .saveAsTextFiles("{{name}}/totals", "txt");
  },
);
