/** A minimal Server-Sent Events client for tests (fetch + a frame parser), so headers like Last-Event-ID can be set. */
export interface SseFrame { id?: string; event: string; data: string; comment?: string }

export interface SseClient {
  frames: SseFrame[];
  /** frames of these kinds, data parsed */
  items(kinds?: string[]): { id: number; event: string; data: any }[];
  status: number;
  close(): void;
  closed: Promise<void>;
}

export async function connectSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
  const frames: SseFrame[] = [];
  let buf = '';
  const closed = (async () => {
    if (!res.body) return;
    const dec = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const f: SseFrame = { event: 'message', data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) f.comment = line.slice(1).trim();
            else if (line.startsWith('id: ')) f.id = line.slice(4);
            else if (line.startsWith('event: ')) f.event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          f.data = data.join('\n');
          frames.push(f);
        }
      }
    } catch { /* aborted */ }
  })();
  return {
    frames, status: res.status, closed,
    items: (kinds = ['event', 'check', 'alert']) => frames.filter((f) => kinds.includes(f.event)).map((f) => ({ id: Number(f.id), event: f.event, data: JSON.parse(f.data) })),
    close: () => ac.abort(),
  };
}
