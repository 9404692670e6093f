import type { IncomingMessage } from "node:http";

/** A request's or response's whole body: the embedded stack's HTTP front ends (IAM proxy, Lambda API) read it once. */
export function readBody(message: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    message.on("data", (c: Buffer) => chunks.push(c));
    message.on("end", () => resolve(Buffer.concat(chunks)));
    message.on("error", reject);
  });
}
