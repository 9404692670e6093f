/**
 * A stack's `Ref` and `Fn::GetAtt` answers, before and after its resources exist: the names chosen up front
 * (a name property the template sets, else a deterministic physical name) and the ARNs the emulators returned.
 */
import { ValidationError } from "../../../lib/core/errors.js";
import type { AssemblyStack, CfnResource } from "../assembly.js";
import { resolveString, type ResolveContext, type ResourceLookup } from "../intrinsics.js";
import { arns, bucketName, LOCAL_ACCOUNT_ID, mappingUuid, physicalName } from "../physical-names.js";

/** `Ref`/`GetAtt` answers for one stack, from the names chosen up front and the ARNs the emulators returned. */
export class StackResources implements ResourceLookup {
  /** Attributes known after creation (e.g. the stream ARN the emulator reports). */
  readonly actual = new Map<string, { ref: string; atts: Record<string, string> }>();
  private readonly resolving = new Set<string>();
  ctx!: ResolveContext;

  constructor(
    private readonly stack: AssemblyStack,
    private readonly region: string,
  ) {}

  private resource(logicalId: string): CfnResource | undefined {
    return this.stack.template.Resources[logicalId];
  }

  /** The resource's name: its name property when the template sets one, else the deterministic physical name. */
  name(logicalId: string): string {
    const r = this.resource(logicalId)!;
    const prop = NAME_PROPERTY[r.Type];
    const given = prop ? r.Properties?.[prop] : undefined;
    if (given !== undefined) {
      if (this.resolving.has(logicalId)) {
        throw new ValidationError("CircularReference", `${this.stack.stackName}/${logicalId}.${prop} refers to itself`, { logicalId });
      }
      this.resolving.add(logicalId);
      try {
        return resolveString(given, this.ctx, `${this.stack.stackName}/${logicalId}.Properties.${prop}`);
      } finally {
        this.resolving.delete(logicalId);
      }
    }
    if (r.Type === "AWS::S3::Bucket") return bucketName(this.stack.stackName, logicalId);
    if (r.Type === "AWS::DynamoDB::Table" || r.Type === "AWS::Kinesis::Stream") return physicalName(this.stack.stackName, logicalId, 128);
    return physicalName(this.stack.stackName, logicalId, 64);
  }

  ref(logicalId: string): string | undefined {
    const r = this.resource(logicalId);
    if (!r) return undefined;
    const actual = this.actual.get(logicalId);
    if (actual) return actual.ref;
    switch (r.Type) {
      case "AWS::Lambda::EventSourceMapping":
        return mappingUuid(this.stack.stackName, logicalId);
      case "AWS::SQS::Queue":
        return `http://sqs.${this.region}.localhost/${LOCAL_ACCOUNT_ID}/${this.name(logicalId)}`;
      case "AWS::SNS::Topic":
        return arns.topic(this.region, this.name(logicalId));
      default:
        return this.name(logicalId);
    }
  }

  getAtt(logicalId: string, attribute: string): string | undefined {
    const r = this.resource(logicalId);
    if (!r) return undefined;
    const known = this.actual.get(logicalId)?.atts[attribute];
    if (known !== undefined) return known;
    const name = () => this.name(logicalId);
    const region = this.region;
    const byType: Record<string, Record<string, () => string>> = {
      "AWS::Kinesis::Stream": { Arn: () => arns.stream(region, name()) },
      "AWS::DynamoDB::Table": { Arn: () => arns.table(region, name()) },
      "AWS::S3::Bucket": {
        Arn: () => arns.bucket(name()),
        DomainName: () => `${name()}.s3.amazonaws.com`,
        RegionalDomainName: () => `${name()}.s3.${region}.amazonaws.com`,
        DualStackDomainName: () => `${name()}.s3.dualstack.${region}.amazonaws.com`,
        WebsiteURL: () => `http://${name()}.s3-website-${region}.amazonaws.com`,
      },
      "AWS::Lambda::Function": { Arn: () => arns.function(region, name()) },
      "AWS::Lambda::EventSourceMapping": {
        Id: () => mappingUuid(this.stack.stackName, logicalId),
        EventSourceMappingArn: () => arns.mapping(region, mappingUuid(this.stack.stackName, logicalId)),
      },
      "AWS::Events::Rule": { Arn: () => arns.rule(region, name()) },
      "AWS::Logs::LogGroup": { Arn: () => arns.logGroup(region, name()) },
      "AWS::IAM::Role": { Arn: () => arns.role(name()), RoleId: () => `AROA${name().toUpperCase().replace(/[^A-Z0-9]/g, "").slice(0, 17)}` },
      "AWS::SQS::Queue": { Arn: () => arns.queue(region, name()), QueueName: name, QueueUrl: () => this.ref(logicalId)! },
      "AWS::SNS::Topic": { TopicArn: () => arns.topic(region, name()), TopicName: name },
    };
    const getter = byType[r.Type]?.[attribute];
    if (getter) return getter();
    if (attribute === "Arn") {
      const service = r.Type.split("::")[1]?.toLowerCase() ?? "unknown";
      return `arn:aws:${service}:${region}:${LOCAL_ACCOUNT_ID}:${name()}`;
    }
    throw new ValidationError(
      "UnknownAttribute",
      `Fn::GetAtt ${logicalId}.${attribute}: the embedded local stack does not know attribute ${attribute} of ${r.Type}`,
      { logicalId, attribute, type: r.Type },
    );
  }
}

const NAME_PROPERTY: Record<string, string> = {
  "AWS::Kinesis::Stream": "Name",
  "AWS::DynamoDB::Table": "TableName",
  "AWS::S3::Bucket": "BucketName",
  "AWS::Lambda::Function": "FunctionName",
  "AWS::Events::Rule": "Name",
  "AWS::Logs::LogGroup": "LogGroupName",
  "AWS::IAM::Role": "RoleName",
  "AWS::SQS::Queue": "QueueName",
  "AWS::SNS::Topic": "TopicName",
};
