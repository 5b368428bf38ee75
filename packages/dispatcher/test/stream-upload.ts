import { request } from "node:http";

export interface UploadResult {
  status: number;
  body: any;
  /** Bytes the client had written when the response arrived. */
  sentBytes: number;
  /** Peak RSS of this process during the upload, above its RSS at the start, in bytes. */
  rssGrowth: number;
  /** The response's Connection header. */
  connection: string | undefined;
}

/**
 * POSTs `totalBytes` of filler to `url` one reused 64 KiB chunk at a time (nothing large is
 * allocated here), declared with Content-Length or chunked, and stops sending at the response.
 */
export function streamUpload(
  url: string,
  options: { headers: Record<string, string>; totalBytes: number; declareLength: boolean },
): Promise<UploadResult> {
  const target = new URL(url);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const headers = { ...options.headers, ...(options.declareLength ? { "content-length": String(options.totalBytes) } : {}) };
  const start = process.memoryUsage().rss;
  let peak = start;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const sampler = setInterval(sample, 10);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request({
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      method: "POST",
      headers,
      agent: false,
    });
    req.on("response", (res) => {
      answered = true;
      const sentBytes = sent;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        sample();
        clearInterval(sampler);
        req.destroy();
        resolve({
          status: res.statusCode!,
          body: JSON.parse(text),
          sentBytes,
          rssGrowth: peak - start,
          connection: res.headers.connection,
        });
      });
    });
    req.on("error", (error) => {
      if (answered) return;
      clearInterval(sampler);
      reject(error);
    });
    const pump = () => {
      while (!answered && sent < options.totalBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}
