/** One input line, numbered from 1 for error messages. */
export interface NumberedLine {
  line: string;
  number: number;
}

export interface BatchLimits {
  maxItems: number;
  maxBytes: number;
  /** A batch that has waited this long for its next line is sent as it is. */
  idleMs: number;
}

const IDLE = Symbol("idle");

/**
 * Group non-blank lines into batches, bounded by count and bytes. A slow producer (one line a
 * minute into `chorus emit -`) must not wait for a full batch, so a batch is also cut when no
 * line came for `idleMs`.
 */
export async function* batchLines(
  lines: AsyncIterable<string>,
  limits: BatchLimits,
): AsyncGenerator<NumberedLine[]> {
  const iterator = lines[Symbol.asyncIterator]();
  let batch: NumberedLine[] = [];
  let bytes = 0;
  let number = 0;
  let pending = iterator.next();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const result =
      batch.length === 0
        ? await pending
        : await Promise.race([
            pending,
            new Promise<typeof IDLE>((r) => (timer = setTimeout(() => r(IDLE), limits.idleMs))),
          ]);
    clearTimeout(timer);
    if (result === IDLE) {
      yield batch;
      batch = [];
      bytes = 0;
      continue;
    }
    if (result.done) break;
    pending = iterator.next();
    number++;
    if (result.value.trim() === "") continue;
    const size = Buffer.byteLength(result.value);
    if (batch.length > 0 && (batch.length >= limits.maxItems || bytes + size > limits.maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push({ line: result.value, number });
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}
