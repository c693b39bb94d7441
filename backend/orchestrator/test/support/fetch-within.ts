// fetch with a deadline that keeps the process alive, and the same on a connection of its own for clusters whose pods come and go.
import http from 'node:http';

// A proxy (docker-proxy, a NodePort) can accept the connection and hold it; with only AbortSignal.timeout's unref'd timer node would exit mid-test.
export async function fetchWithin(url: string, timeoutMs: number, init: RequestInit = {}): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer from ${url} in ${timeoutMs} ms`)), timeoutMs);
  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

export interface FreshRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * One request on a new connection, closed after it. fetch reuses idle keep-alive sockets, and a test that
 * blocks its event loop (execFileSync kubectl) can send on a socket the server already closed and get
 * "other side closed" with no answer — which for a POST cannot be retried safely.
 */
export function fetchOnFreshConnection(url: string, timeoutMs: number, init: FreshRequest = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        clearTimeout(timer);
        const headers = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          for (const one of Array.isArray(value) ? value : [value ?? '']) headers.append(name, one);
        }
        const body = chunks.length > 0 ? Buffer.concat(chunks) : null;
        resolve(new Response(body, { status: response.statusCode ?? 0, headers }));
      });
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)), timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(init.body);
  });
}
