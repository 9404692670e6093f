export { startLocalStack, type LocalStack, type LocalStackOptions, type LocalStackStats } from "./local-stack.js";
export { shutdownOnSignals, type ShutdownOptions, type ShutdownSignals } from "./signals.js";
export { printEvent, printBlockParser, type LocalStackEvent, type ShardLag } from "./events.js";
export { readStackFile, stackFilePath, isProcessAlive, isStackRunning, STACK_FILE_NAME, type StackFile, type StackFileStack } from "./stack-file.js";
export { readAssembly, functionCode, type AssemblyStack, type CfnResource, type CfnTemplate, type CloudAssembly, type FunctionCode } from "./assembly.js";
export { resolve, resolveString, isIntrinsic, NO_VALUE, type ResolveContext, type ResourceLookup, type PseudoParameters } from "./intrinsics.js";
export {
  deployStack,
  DEPLOYER_LIMITATIONS,
  type DeployedStack,
  type DeployedFunction,
  type DeployedMapping,
  type DeployedSchedule,
  type DeployedStream,
  type DeployedTable,
  type DeployedBucket,
  type DeployOptions,
} from "./template-deployer.js";
export {
  FunctionHost,
  FunctionError,
  FunctionTimeoutError,
  parseHandler,
  type FunctionSpec,
  type FunctionHostOptions,
  type FunctionHostStats,
  type FunctionLogLine,
} from "./function-host.js";
export { ScheduleRunner, parseScheduleExpression, scheduledEvent, type Schedule, type ScheduledJob } from "./schedule-runner.js";
export { mappingPoller, onFailureObjectKey, failureDestination } from "./mapping-runner.js";
export { synthesize, type SynthOptions } from "./synth.js";
export { bucketName, physicalName, mappingUuid, LOCAL_ACCOUNT_ID } from "./physical-names.js";
