/** `sparkless local up | down | status`: the embedded AWS stack. */
import { Command } from "commander";
import type { CommandContext } from "../io.js";
import { localDownCommand } from "./local-down.js";
import { localStatusCommand } from "./local-status.js";
import { localUpCommand, type LocalUpDeps } from "./local-up.js";

export function localCommand(ctx: CommandContext, deps: LocalUpDeps): Command {
  return new Command("local")
    .description("the embedded AWS stack: Kinesis, DynamoDB and S3 emulators with the CDK app deployed into them")
    .addCommand(localUpCommand(ctx, deps))
    .addCommand(localDownCommand(ctx))
    .addCommand(localStatusCommand(ctx));
}
