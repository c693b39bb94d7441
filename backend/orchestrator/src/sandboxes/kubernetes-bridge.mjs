// The stdio MCP server Claude Code spawns for an agent of the kubernetes runtime: joins its stdin and stdout to the orchestrator's relay socket (kubernetes-relay.ts), which holds the stream to `claude mcp serve` in the agent's pod.
//
// Plain JavaScript with Node's built-ins only, so it starts in tens of milliseconds (no tsx) and holds no
// Kubernetes client or credential: the socket path is its only argument.
import { connect } from 'node:net';

const socketPath = process.argv[2];
if (!socketPath) {
  process.stderr.write('usage: kubernetes-bridge.mjs <relay socket>\n');
  process.exit(2);
}
const socket = connect(socketPath);
socket.on('error', (error) => {
  process.stderr.write(`multiclaude sandbox bridge: ${error.message}\n`);
  process.exit(1);
});
process.stdin.pipe(socket);
socket.pipe(process.stdout);
// The tool server ended (or the orchestrator closed the stream): so does this server.
socket.on('end', () => process.stdout.end(() => process.exit(0)));
process.stdin.on('end', () => socket.end());
