import { randomUUID } from "node:crypto";
import type { FailureCondition, FailureEnvelope } from "./types.js";

/** The envelope for records discarded after `approximateInvokeCount` invocations, the last failing with `functionError`. */
export function failureEnvelope(functionArn: string, condition: FailureCondition, approximateInvokeCount: number, functionError: string | undefined, event: unknown): FailureEnvelope {
  return {
    requestContext: { requestId: randomUUID(), functionArn, condition, approximateInvokeCount },
    responseContext: { statusCode: 200, executedVersion: "$LATEST", ...(functionError ? { functionError } : {}) },
    version: "1.0",
    timestamp: new Date().toISOString(),
    payload: JSON.stringify(event),
  };
}
