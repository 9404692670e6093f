/**
 * A stream as the Kinesis API names it: by name, by ARN, or both (Lambda knows the ARN, a user the name). A
 * string that starts with `arn:` is an ARN.
 */
export type StreamRef = string | { readonly streamName?: string; readonly streamArn?: string };

/** The `StreamName`/`StreamARN` parameters of a Kinesis call for `stream`. */
export function streamParams(stream: StreamRef): { StreamName?: string; StreamARN?: string } {
  if (typeof stream === "string") return stream.startsWith("arn:") ? { StreamARN: stream } : { StreamName: stream };
  return {
    ...(stream.streamName !== undefined ? { StreamName: stream.streamName } : {}),
    ...(stream.streamArn !== undefined ? { StreamARN: stream.streamArn } : {}),
  };
}
