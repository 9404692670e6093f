/**
 * The fan-out of a batch to the finalizer partitions: an asynchronous `Invoke` (`InvocationType: "Event"`) of the
 * pipeline's finalizer function with `{ "partition": n }`. Lambda queues it and answers 202 at once, so the shard
 * function and the ticker do not wait for the partitions they ask for; a lost or failed invocation is asked for
 * again by the next tick (each partition's finalizer redoes only what its own progress says is left).
 */
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import type { FinalizerEvent } from "../lib/contract/index.js";
import { SparklessError } from "../lib/core/errors.js";

/** `RuntimeDeps.invokeFinalizer` for the finalizer function `functionName`. */
export function finalizerInvoker(client: LambdaClient, functionName: string): (partition: number) => Promise<void> {
  return async (partition) => {
    const event: FinalizerEvent = { partition };
    const out = await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: "Event", Payload: new TextEncoder().encode(JSON.stringify(event)) }));
    if (out.StatusCode !== 202) {
      throw new SparklessError(
        "FinalizerInvokeFailed",
        `asking finalizer function ${functionName} to finalize partition ${partition} was answered ${String(out.StatusCode)}, not 202 (queued): the next tick asks again`,
        { functionName, partition },
      );
    }
  };
}
