/**
 * Reads a CDK cloud assembly (the `cdk.out` directory `cdk synth` writes): its stacks' CloudFormation templates
 * and where each Lambda function's bundled code lies in it.
 *
 * The assembly's own format, as the CDK CLI reads it: `manifest.json` lists artifacts by id; an
 * `aws:cloudformation:stack` artifact names its `templateFile`, a `cdk:asset-manifest` artifact its assets file
 * (`<Stack>.assets.json`: asset id -> `source.path` in the assembly, `destinations.*.objectKey` in the bootstrap
 * bucket), and a `cdk:cloud-assembly` artifact a nested assembly (a `Stage`) in `directoryName`. A function built
 * with a bundling construct (NodejsFunction) has its code in `asset.<hash>/` and says so in its metadata
 * (`aws:asset:path`); its template property `Code.S3Key` is that asset's object key.
 */
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, join, resolve as resolvePath } from "node:path";
import { ValidationError } from "../../lib/core/errors.js";

/** One resource of a template, as CloudFormation reads it. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly Condition?: string;
}

/** The parts of a CloudFormation template the local stack reads. */
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Parameters?: Record<string, { Default?: unknown; Type?: string }>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  readonly Conditions?: Record<string, unknown>;
  readonly Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

/** A file asset of the assembly. */
export interface FileAsset {
  readonly id: string;
  /** Absolute path of the asset in the assembly (a directory for `zip` packaging of a directory). */
  readonly path: string;
  readonly packaging: "file" | "zip";
  /** Object keys the asset is published under (what templates reference in `Code.S3Key`). */
  readonly objectKeys: readonly string[];
}

export interface AssemblyStack {
  /** Artifact id in the manifest (for top-level stacks, the construct id of the stack). */
  readonly artifactId: string;
  /** The CloudFormation stack name. */
  readonly stackName: string;
  /** Absolute path of the assembly directory holding this stack's template and assets. */
  readonly directory: string;
  readonly templateFile: string;
  readonly template: CfnTemplate;
  readonly assets: readonly FileAsset[];
}

export interface CloudAssembly {
  /** Absolute path of the top-level assembly directory. */
  readonly directory: string;
  readonly stacks: readonly AssemblyStack[];
}

/** Where a function's code is: a directory to load the handler from, or source inlined in the template. */
export type FunctionCode =
  | { readonly kind: "directory"; readonly directory: string }
  | { readonly kind: "inline"; readonly source: string };

interface ManifestArtifact {
  readonly type: string;
  readonly properties?: Record<string, unknown>;
  readonly displayName?: string;
}

interface Manifest {
  readonly version?: string;
  readonly artifacts?: Record<string, ManifestArtifact>;
}

interface AssetsFile {
  readonly files?: Record<
    string,
    { source?: { path?: string; packaging?: string }; destinations?: Record<string, { objectKey?: string }> }
  >;
}

async function readJson<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new ValidationError("AssemblyFileMissing", `${what} not found at ${path}`, { path }, { cause: err });
    }
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new ValidationError("AssemblyFileInvalid", `${what} at ${path} is not valid JSON: ${(err as Error).message}`, { path }, { cause: err });
  }
}

/**
 * Reads the assembly in `directory` and every nested assembly it names, with each stack's template and assets.
 *
 * @example
 * const assembly = await readAssembly("cdk.out");
 * for (const stack of assembly.stacks) console.log(stack.stackName, Object.keys(stack.template.Resources).length);
 */
export async function readAssembly(directory: string): Promise<CloudAssembly> {
  const root = resolvePath(directory);
  const manifestPath = join(root, "manifest.json");
  try {
    await stat(manifestPath);
  } catch {
    throw new ValidationError(
      "AssemblyNotFound",
      `no cloud assembly in ${root} (manifest.json is missing): synthesize the CDK app first (npx cdk synth), or let the local stack synthesize it`,
      { directory: root },
    );
  }
  const stacks: AssemblyStack[] = [];
  await readInto(root, stacks, new Set());
  return { directory: root, stacks };
}

async function readInto(dir: string, stacks: AssemblyStack[], seen: Set<string>): Promise<void> {
  if (seen.has(dir)) return;
  seen.add(dir);
  const manifest = await readJson<Manifest>(join(dir, "manifest.json"), "the cloud assembly manifest");
  const artifacts = Object.entries(manifest.artifacts ?? {});
  // Assets first: a stack names its asset manifest among its dependencies, but the object keys are enough.
  const assets: FileAsset[] = [];
  for (const [, artifact] of artifacts) {
    if (artifact.type !== "cdk:asset-manifest") continue;
    const file = String(artifact.properties?.file ?? "");
    const parsed = await readJson<AssetsFile>(join(dir, file), "the asset manifest");
    for (const [id, entry] of Object.entries(parsed.files ?? {})) {
      const p = entry.source?.path;
      if (!p) continue;
      assets.push({
        id,
        path: isAbsolute(p) ? p : join(dir, p),
        packaging: entry.source?.packaging === "zip" ? "zip" : "file",
        objectKeys: Object.values(entry.destinations ?? {}).flatMap((d) => (d.objectKey ? [d.objectKey] : [])),
      });
    }
  }
  for (const [artifactId, artifact] of artifacts) {
    if (artifact.type === "aws:cloudformation:stack") {
      const templateFile = join(dir, String(artifact.properties?.templateFile ?? `${artifactId}.template.json`));
      const template = await readJson<CfnTemplate>(templateFile, `the template of stack ${artifactId}`);
      if (!template.Resources || typeof template.Resources !== "object") {
        throw new ValidationError("TemplateInvalid", `the template ${templateFile} has no Resources section`, { templateFile });
      }
      const stackName = String(artifact.properties?.stackName ?? artifactId);
      stacks.push({ artifactId, stackName, directory: dir, templateFile, template, assets });
    } else if (artifact.type === "cdk:cloud-assembly") {
      const nested = artifact.properties?.directoryName;
      if (typeof nested === "string") await readInto(join(dir, nested), stacks, seen);
    }
  }
}

/**
 * Where the code of the `AWS::Lambda::Function` `logicalId` is: the asset directory its metadata or its
 * `Code.S3Key` names, or its inline `Code.ZipFile`. A container image or a zip file asset is a clear error.
 */
export async function functionCode(stack: AssemblyStack, logicalId: string): Promise<FunctionCode> {
  const resource = stack.template.Resources[logicalId];
  if (!resource) throw new ValidationError("ResourceNotFound", `stack ${stack.stackName} has no resource ${logicalId}`, { logicalId });
  const code = (resource.Properties?.Code ?? {}) as Record<string, unknown>;
  const where = `${stack.stackName}/${logicalId}`;
  if (typeof code.ZipFile === "string") return { kind: "inline", source: code.ZipFile };
  if (code.ImageUri !== undefined || resource.Properties?.PackageType === "Image") {
    throw new ValidationError("FunctionCodeUnsupported", `${where} is a container image function: the embedded local stack runs only code bundled in the assembly`, { logicalId });
  }
  let path: string | undefined;
  const metaPath = resource.Metadata?.["aws:asset:path"];
  if (typeof metaPath === "string" && (resource.Metadata?.["aws:asset:property"] ?? "Code") === "Code") {
    path = isAbsolute(metaPath) ? metaPath : join(stack.directory, metaPath);
  } else if (typeof code.S3Key === "string") {
    path = stack.assets.find((a) => a.objectKeys.includes(code.S3Key as string) || `${a.id}.zip` === code.S3Key)?.path;
  }
  if (!path) {
    throw new ValidationError(
      "FunctionCodeNotFound",
      `${where}: no asset in ${stack.directory} holds its code (no aws:asset:path metadata, and Code.S3Key ${JSON.stringify(code.S3Key)} is not an asset of the assembly)`,
      { logicalId },
    );
  }
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (err) {
    throw new ValidationError("FunctionCodeNotFound", `${where}: its code asset ${path} does not exist (synthesize again)`, { logicalId, path }, { cause: err });
  }
  if (!isDirectory) {
    throw new ValidationError("FunctionCodeUnsupported", `${where}: its code asset ${path} is a file, not a directory; the embedded local stack does not unpack zip files`, { logicalId, path });
  }
  return { kind: "directory", directory: path };
}
