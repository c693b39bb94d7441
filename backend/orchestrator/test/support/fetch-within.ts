// fetch with a timer that keeps the process alive: a proxy (docker-proxy, a NodePort) can accept the connection and hold it, and with only AbortSignal.timeout's unref'd timer node would exit mid-test.
export async function fetchWithin(url: string, timeoutMs: number, init: RequestInit = {}): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer from ${url} in ${timeoutMs} ms`)), timeoutMs);
  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}
