/**
 * `sparkless state <operator>`: the keys and values a stateful operator (updateStateByKey, mapWithState, an
 * incremental reduceByKeyAndWindow) holds after a finalized batch — from the pipeline's table and bucket (the
 * running local stack's by default, or named resources on AWS), or with --checkpoint from a local engine's
 * checkpoint directory. The library function behind it is `readOperatorState` in `sparkless/testing`.
 */
import { Command, Option } from "commander";
import { formatElement } from "../../../lib/core/format.js";
import { canonicalKey } from "../../../lib/core/keys.js";
import { S3ObjectStore } from "../../../lib/io/s3-object-store.js";
import { DynamoDbPipelineStore } from "../../../lib/pipeline-store/dynamodb-pipeline-store.js";
import { listStatefulOperators, readOperatorState, type OperatorState, type StateLocation } from "../../../lib/testing/state-reader.js";
import { cliDynamoDbClient, cliS3Client } from "../clients.js";
import { batchTime, table } from "../format.js";
import { bytes, CliError, plural, type CommandContext } from "../io.js";
import { addTargetOptions, resolvePipelineTarget, type TargetOptions } from "../target.js";
import { positiveInt } from "./status.js";

interface StateOptions extends TargetOptions {
  readonly key?: string;
  readonly batch?: number;
  readonly checkpoint?: string;
  readonly json?: boolean;
  readonly list?: boolean;
}

export function stateCommand(ctx: CommandContext): Command {
  const cmd = new Command("state")
    .description("the keys and values a stateful operator holds after a finalized batch (the table and bucket, or a local checkpoint)")
    .argument("[operator]", "the operator's id: its name (updateStateByKey(fn, { name }), StateSpec.name(), reduceByKeyAndWindow({ name }))");
  addTargetOptions(cmd)
    .option("--key <key>", "only this key (a string, or JSON for a number or an array key: --key 42, --key '[\"a\",1]')")
    .addOption(new Option("--batch <time>", "the batch time in ms (default: the last finalized batch, or the newest checkpoint's)").argParser(positiveInt("--batch")))
    .option("--checkpoint <dir>", "read a local engine's checkpoint directory instead of the pipeline's table and bucket")
    .option("--list", "list the stateful operators")
    .option("--json", "print the state as JSON")
    .action(async (operator: string | undefined, opts: StateOptions, command: Command) => {
      const { stateDir } = command.optsWithGlobals<{ stateDir?: string }>();
      const { location, close } = locate(ctx, { ...opts, stateDir });
      try {
        if (opts.list || operator === undefined) {
          const ops = await listStatefulOperators(location);
          if (opts.json) ctx.io.stdout.write(JSON.stringify(ops, null, 2) + "\n");
          else ctx.io.stdout.write(ops.length === 0 ? "no stateful operator\n" : table(["OPERATOR", "KIND"], ops.map((o) => [o.id, o.kind])));
          return;
        }
        const all = await readOperatorState(location, operator, opts.batch !== undefined ? { batch: opts.batch } : {});
        const state = opts.key === undefined ? all : { ...all, entries: all.entries.filter((e) => isKey(e.key, opts.key!)) };
        if (opts.key !== undefined && state.entries.length === 0) {
          throw new CliError("NoSuchKey", `operator "${operator}" holds no key ${opts.key} after batch ${state.batchTime} (it holds ${plural(state.keys, "key")})`, 1);
        }
        ctx.io.stdout.write(opts.json ? JSON.stringify(state, jsonSafe, 2) + "\n" : formatState(state));
      } finally {
        close();
      }
    });
  return cmd;
}

function locate(ctx: CommandContext, opts: StateOptions): { location: StateLocation; close: () => void } {
  if (opts.checkpoint !== undefined) return { location: { checkpointDir: opts.checkpoint }, close: () => {} };
  const target = resolvePipelineTarget(opts, ctx.io);
  const conn = (endpoint: string | undefined) => ({
    ...(target.region ? { region: target.region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(target.credentials ? { credentials: target.credentials } : {}),
  });
  const s3 = cliS3Client(conn(target.endpoints.s3));
  const dynamodb = cliDynamoDbClient(conn(target.endpoints.dynamodb));
  const objects = new S3ObjectStore({ client: s3, bucket: target.bucket });
  const store = new DynamoDbPipelineStore({ client: dynamodb, tableName: target.table, pipeline: target.pipeline, objects });
  return {
    location: { store, objects, pipeline: target.pipeline },
    close: () => {
      s3.destroy();
      dynamodb.destroy();
    },
  };
}

/** A key as typed matches the string it is, or the JSON value it reads as (`42`, `["a",1]`): keys are typed values. */
function isKey(key: unknown, typed: string): boolean {
  if (canonicalKey(key) === canonicalKey(typed)) return true;
  try {
    return canonicalKey(key) === canonicalKey(JSON.parse(typed));
  } catch {
    return false;
  }
}

function formatState(s: OperatorState): string {
  const head = `operator ${s.operator} (${s.kind}) after batch ${batchTime(s.batchTime)}: ${plural(s.keys, "key")}, ${bytes(s.bytes)} of state\n\n`;
  const withTime = s.entries.some((e) => e.updatedAt !== undefined);
  const rows = s.entries.map((e) => [formatElement(e.key), formatElement(e.value), ...(withTime ? [e.updatedAt !== undefined ? batchTime(e.updatedAt) : "-"] : [])]);
  return head + (rows.length === 0 ? "no keys\n" : table(["KEY", "VALUE", ...(withTime ? ["UPDATED"] : [])], rows));
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
