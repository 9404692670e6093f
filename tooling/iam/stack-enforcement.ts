/**
 * IAM enforcement for a deployed local stack: the policies of each stack's template, one identity per function
 * (its own access key id, its role, its Lambda session), and the enforcing proxy in front of the emulators. The
 * local stack gives each function the proxy's endpoints and its access key id; everything else happens here.
 */
import type { CfnTemplate } from "../stack/assembly.js";
import type { DeployedStack } from "../stack/template-deployer.js";
import { LOCAL_ACCOUNT_ID } from "../stack/physical-names.js";
import type { Denial } from "./access-denied.js";
import { Enforcer } from "./enforcer.js";
import { startIamProxy, type IamProxy, type ServiceEndpoints } from "./enforcing-proxy.js";
import { accessKeyIdFor, lambdaCaller, type FunctionIdentity } from "./identities.js";
import { templatePolicies, type ResourcePolicy } from "./template-policies.js";

export interface StackEnforcementOptions {
  /** Each deployed stack with the template it was deployed from. */
  readonly stacks: ReadonlyArray<{ readonly template: CfnTemplate; readonly deployed: DeployedStack }>;
  readonly region: string;
  /** The emulators' endpoints and the key they accept. */
  readonly upstream: ServiceEndpoints;
  readonly upstreamCredentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly onDenied: (denial: Denial) => void;
}

export interface StackEnforcement {
  readonly proxy: IamProxy;
  /** The access key id of a deployed function (by stack name and logical id). */
  accessKeyId(stackName: string, logicalId: string): string;
  /** What the enforcement left out or could not read (printed at start-up). */
  readonly notes: readonly string[];
  /** Where the enforcement differs from AWS. */
  readonly limitations: readonly string[];
  stop(): Promise<void>;
}

export const IAM_LIMITATIONS: readonly string[] = [
  "IAM: each function's calls to Kinesis, DynamoDB, S3 and Lambda (Invoke) are checked against its role's policies in the template (identity-based policies, bucket policies, wildcards, NotAction/NotResource, conditions; aws:SecureTransport counts as true, as over AWS's HTTPS endpoints). Not modelled: permission boundaries, SCPs, session policies, KMS key policies, dynamodb:LeadingKeys/Attributes, AWS managed policies other than a few common ones, and the Lambda service's own calls (the event source mapping reads the stream and writes on-failure records with the stack's credentials).",
];

/**
 * Reads the templates' policies and starts the enforcing proxy.
 *
 * @example
 * const iam = await startStackEnforcement({ stacks, region, upstream: emulatorEndpoints, upstreamCredentials, onDenied });
 * env.AWS_ENDPOINT_URL_S3 = iam.proxy.endpoints.s3; env.AWS_ACCESS_KEY_ID = iam.accessKeyId(stack, fn.logicalId);
 */
export async function startStackEnforcement(options: StackEnforcementOptions): Promise<StackEnforcement> {
  const notes: string[] = [];
  const identities: FunctionIdentity[] = [];
  const resourcePolicies: ResourcePolicy[] = [];
  const tables = new Map<string, string>();
  const streams = new Map<string, string>();
  for (const { template, deployed } of options.stacks) {
    const policies = templatePolicies(template, deployed.context);
    notes.push(...policies.notes);
    resourcePolicies.push(...policies.resourcePolicies);
    for (const t of deployed.tables) tables.set(t.name, t.arn);
    for (const s of deployed.streams) streams.set(s.name, s.arn);
    for (const fn of deployed.functions) {
      const role = fn.roleArn === undefined ? undefined : policies.roles.get(fn.roleArn);
      if (!role) notes.push(`function ${fn.name}: its role ${fn.roleArn ?? "(none)"} is not a role of the template, so its calls are not checked`);
      const accessKeyId = accessKeyIdFor(deployed.stackName, fn.logicalId);
      const roleName = role?.name ?? fn.roleArn?.replace(/^.*:role\/(?:.*\/)?/, "") ?? "unknown";
      identities.push({
        functionName: fn.name,
        logicalId: fn.logicalId,
        accessKeyId,
        ...(role ? { role } : {}),
        caller: lambdaCaller(role?.arn ?? fn.roleArn ?? "", roleName, fn.name, LOCAL_ACCOUNT_ID),
      });
    }
  }
  const proxy = await startIamProxy({
    enforcer: new Enforcer(identities, resourcePolicies, options.region),
    arns: { region: options.region, accountId: LOCAL_ACCOUNT_ID, tables, streams },
    upstream: options.upstream,
    upstreamCredentials: options.upstreamCredentials,
    onDenied: options.onDenied,
  });
  return {
    proxy,
    accessKeyId: (stackName, logicalId) => accessKeyIdFor(stackName, logicalId),
    notes,
    limitations: IAM_LIMITATIONS,
    stop: () => proxy.stop(),
  };
}
