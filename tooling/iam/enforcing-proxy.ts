/**
 * An HTTP proxy per service (Kinesis, DynamoDB, S3, and Lambda's Invoke) in front of the emulators, where the functions' SDK clients
 * send every call: it reads the SigV4 `Credential` to know the function, maps the request to what IAM checks for
 * it (action, resource ARN, condition keys), asks the {@link Enforcer}, and either forwards the request untouched
 * but for the access key id (the emulators know one key; the signature does not cover it), or answers as AWS
 * does — `AccessDeniedException` (JSON, 400) or `AccessDenied` (XML, 403) — without the emulator ever seeing it.
 *
 * It knows nothing of which emulator sits behind it: only the AWS wire protocols.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DeleteObjectsCommand, S3Client } from "@aws-sdk/client-s3";
import { accessDeniedCode, errorResponse, type Denial, type ErrorResponse, type Service } from "./access-denied.js";
import { dynamoDbAccess } from "./dynamodb-requests.js";
import type { Enforcer } from "./enforcer.js";
import type { AccessRequest } from "./evaluate.js";
import { requestAccessKeyId, type FunctionIdentity } from "./identities.js";
import { kinesisAccess, kinesisStream, StreamTokens } from "./kinesis-requests.js";
import { lambdaAccess } from "./lambda-requests.js";
import { objectArn, type ResourceArns } from "./resource-arns.js";
import { deleteObjectsKeys, deleteObjectsQuiet, escapeXml, s3Access } from "./s3-requests.js";
import { readBody } from "../stack/http-body.js";

export type ServiceEndpoints = Readonly<Record<Service, string>>;

export interface IamProxyOptions {
  readonly enforcer: Enforcer;
  readonly arns: ResourceArns;
  /** The emulators' endpoints. */
  readonly upstream: ServiceEndpoints;
  /** The key the emulators accept, put in place of each function's own. */
  readonly upstreamCredentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Each denied call. */
  readonly onDenied?: (denial: Denial) => void;
}

export interface IamProxyStats {
  readonly allowed: number;
  readonly denied: number;
}

export interface IamProxy {
  /** Where the functions send their calls (their `AWS_ENDPOINT_URL_<SERVICE>`). */
  readonly endpoints: ServiceEndpoints;
  stats(): IamProxyStats;
  /** Closes the listeners and their connections. Idempotent. */
  stop(): Promise<void>;
}

const JSON_TARGET = /^[A-Za-z0-9_]+\.([A-Za-z0-9]+)$/;

function send(res: ServerResponse, r: ErrorResponse, head = false): void {
  res.writeHead(r.status, { ...r.headers, "content-length": head ? "0" : String(Buffer.byteLength(r.body)) });
  res.end(head ? undefined : r.body);
}

/**
 * Starts the three proxies on free loopback ports.
 *
 * @example
 * const proxy = await startIamProxy({ enforcer, arns, upstream: emulatorEndpoints, upstreamCredentials, onDenied });
 * // each function: AWS_ENDPOINT_URL_S3 = proxy.endpoints.s3, AWS_ACCESS_KEY_ID = its own key id
 */
export async function startIamProxy(options: IamProxyOptions): Promise<IamProxy> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const tokens = new StreamTokens();
  const counts = { allowed: 0, denied: 0 };
  const servers: Server[] = [];
  let s3Client: S3Client | undefined;
  const upstreamS3 = () =>
    (s3Client ??= new S3Client({
      endpoint: options.upstream.s3,
      region: options.arns.region,
      forcePathStyle: true,
      credentials: { ...options.upstreamCredentials },
    }));

  /** Sends the request on to the emulator; `body` when it was read already, else streamed. */
  const forward = (service: Service, req: IncomingMessage, res: ServerResponse, body: Buffer | undefined, onJson?: (json: Record<string, unknown>) => void) => {
    const target = new URL(options.upstream[service]);
    const headers = { ...req.headers };
    if (typeof headers.authorization === "string") {
      headers.authorization = headers.authorization.replace(/Credential=[^/,\s]+\//, `Credential=${options.upstreamCredentials.accessKeyId}/`);
    }
    const up = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
      (upRes) => {
        const plain = !upRes.headers["content-encoding"] && upRes.statusCode === 200;
        if (!onJson || !plain) {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          return;
        }
        void readBody(upRes).then((data) => {
          try {
            onJson(JSON.parse(data.toString("utf8")) as Record<string, unknown>);
          } catch {
            // not JSON (CBOR, an error page): nothing to learn
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(data);
        }, () => res.destroy());
      },
    );
    up.on("error", (err) => {
      if (res.headersSent) res.destroy();
      else send(res, errorResponse(service, "ServiceUnavailable", `the local ${service} emulator did not answer: ${err.message}`, 503));
    });
    if (body) up.end(body);
    else req.pipe(up);
  };

  const report = (denial: Denial) => {
    counts.denied++;
    try {
      options.onDenied?.(denial);
    } catch {
      // a listener's failure must not change the answer
    }
  };
  const denied = (service: Service, res: ServerResponse, denial: Denial, head: boolean) => {
    report(denial);
    send(res, errorResponse(service, accessDeniedCode(service), denial.message), head);
  };

  /** Who is calling; answers the request itself (and returns undefined) when no function is. */
  const caller = (service: Service, req: IncomingMessage, res: ServerResponse): FunctionIdentity | undefined => {
    const key = requestAccessKeyId(req.headers.authorization, req.url ?? "/");
    const identity = options.enforcer.identity(key);
    if (identity) return identity;
    req.resume();
    if (key === undefined) send(res, errorResponse(service, service === "s3" ? "AccessDenied" : "MissingAuthenticationTokenException", "Request is missing Authentication Token"));
    else if (service === "s3") send(res, errorResponse(service, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."));
    else send(res, errorResponse(service, "UnrecognizedClientException", "The security token included in the request is invalid."));
    return undefined;
  };

  const json = (service: "dynamodb" | "kinesis") => async (req: IncomingMessage, res: ServerResponse) => {
    const identity = caller(service, req, res);
    if (!identity) return;
    const body = await readBody(req);
    const operation = JSON_TARGET.exec(String(req.headers["x-amz-target"] ?? ""))?.[1];
    let input: Record<string, unknown> = {};
    try {
      input = body.length > 0 ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {};
    } catch {
      // the emulator answers a malformed body as AWS would
    }
    if (!operation) {
      forward(service, req, res, body);
      return;
    }
    let checks: AccessRequest[];
    if (service === "dynamodb") {
      checks = dynamoDbAccess(operation, input, options.arns);
    } else {
      const check = kinesisAccess(operation, input, options.arns, tokens);
      // An iterator or token this proxy never handed out names no stream we know: check it against none.
      checks = [check ?? { action: `kinesis:${operation}`, resource: `arn:aws:kinesis:${options.arns.region}:${options.arns.accountId}:stream/(unknown: an iterator not issued to this function)` }];
    }
    const denial = options.enforcer.check(identity, checks, service);
    if (denial) return denied(service, res, denial, false);
    counts.allowed++;
    const stream = service === "kinesis" ? kinesisStream(input, options.arns, tokens) : undefined;
    const learn = stream !== undefined && ["GetShardIterator", "GetRecords", "ListShards"].includes(operation) ? (out: Record<string, unknown>) => tokens.learn(out, stream) : undefined;
    forward(service, req, res, body, learn);
  };

  const s3 = async (req: IncomingMessage, res: ServerResponse) => {
    const identity = caller("s3", req, res);
    if (!identity) return;
    const head = req.method === "HEAD";
    const access = s3Access({ method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers });
    if (access.kind === "checks") {
      const denial = options.enforcer.check(identity, access.checks, "s3");
      if (denial) {
        req.resume();
        return denied("s3", res, denial, head);
      }
      counts.allowed++;
      forward("s3", req, res, undefined);
      return;
    }
    // DeleteObjects: s3:DeleteObject per key; a denied key is an <Error> in a 200 answer, the others are deleted.
    const body = await readBody(req);
    const xml = body.toString("utf8");
    const keys = deleteObjectsKeys(xml);
    const verdicts = keys.map((k) => ({
      ...k,
      denial: options.enforcer.check(identity, [{ action: k.versionId ? "s3:DeleteObjectVersion" : "s3:DeleteObject", resource: objectArn(access.bucket, k.key) }], "s3"),
    }));
    const refused = verdicts.filter((v) => v.denial);
    if (refused.length === 0) {
      counts.allowed++;
      forward("s3", req, res, body);
      return;
    }
    report(refused[0]!.denial!);
    const allowed = verdicts.filter((v) => !v.denial);
    try {
      const out =
        allowed.length === 0
          ? { Deleted: [], Errors: [] }
          : await upstreamS3().send(
              new DeleteObjectsCommand({
                Bucket: access.bucket,
                Delete: { Objects: allowed.map((v) => ({ Key: v.key, ...(v.versionId ? { VersionId: v.versionId } : {}) })), Quiet: false },
              }),
            );
      const quiet = deleteObjectsQuiet(xml);
      const parts = [
        ...(quiet ? [] : (out.Deleted ?? []).map((d) => `<Deleted><Key>${escapeXml(d.Key ?? "")}</Key></Deleted>`)),
        ...(out.Errors ?? []).map((e) => `<Error><Key>${escapeXml(e.Key ?? "")}</Key><Code>${escapeXml(e.Code ?? "InternalError")}</Code><Message>${escapeXml(e.Message ?? "")}</Message></Error>`),
        ...refused.map((v) => `<Error><Key>${escapeXml(v.key)}</Key><Code>AccessDenied</Code><Message>${escapeXml(v.denial!.message)}</Message></Error>`),
      ];
      const result = `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join("")}</DeleteResult>`;
      res.writeHead(200, { "content-type": "application/xml", "content-length": String(Buffer.byteLength(result)) });
      res.end(result);
    } catch (err) {
      send(res, errorResponse("s3", "InternalError", `the local S3 emulator failed the delete: ${(err as Error).message}`, 500));
    }
  };

  // Lambda's REST API: the action and the function are in the method and path; the body is the event.
  const lambda = async (req: IncomingMessage, res: ServerResponse) => {
    const identity = caller("lambda", req, res);
    if (!identity) return;
    const check = lambdaAccess(req.method ?? "GET", req.url ?? "/", options.arns);
    if (check) {
      const denial = options.enforcer.check(identity, [check], "lambda");
      if (denial) {
        req.resume();
        return denied("lambda", res, denial, false);
      }
    }
    counts.allowed++;
    forward("lambda", req, res, undefined);
  };

  const handlers: Record<Service, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = { dynamodb: json("dynamodb"), kinesis: json("kinesis"), s3, lambda };
  const endpoints: Partial<Record<Service, string>> = {};
  try {
    for (const service of ["kinesis", "dynamodb", "s3", "lambda"] as const) {
      const server = createServer((req, res) => {
        handlers[service](req, res).catch((err: unknown) => {
          if (res.headersSent) res.destroy();
          else send(res, errorResponse(service, "InternalFailure", `the local IAM proxy failed: ${(err as Error).message}`, 500));
        });
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
      });
      endpoints[service] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
  } catch (err) {
    for (const s of servers) s.close();
    agent.destroy();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    endpoints: endpoints as ServiceEndpoints,
    stats: () => ({ ...counts }),
    stop: () =>
      (stopping ??= (async () => {
        await Promise.all(
          servers.map(
            (s) =>
              new Promise<void>((resolve) => {
                s.close(() => resolve());
                s.closeAllConnections();
              }),
          ),
        );
        agent.destroy();
        s3Client?.destroy();
      })()),
  };
}
