// The offline model's public surface: start the server, or use the script directly.
export { startOfflineModel, type OfflineModel, type OfflineModelOptions, type RequestSummary, type ResponseSummary } from './server.ts';
export { scriptReply, parseDirectives, readAgentContext, type ScriptedReply } from './script.ts';
