// Runs the offline model on its own: OFFLINE_MODEL_PORT (default 8787), OFFLINE_MODEL_HOST (default 127.0.0.1).
import { startOfflineModel } from './server.ts';

const port = Number(process.env['OFFLINE_MODEL_PORT'] ?? 8787);
const host = process.env['OFFLINE_MODEL_HOST'] ?? '127.0.0.1';
const model = await startOfflineModel({ port, host });
console.log(`offline demo model (scripted, not Claude) listening on ${model.url}`);
const stop = (): void => void model.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
