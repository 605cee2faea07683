import {
  Agent,
  type Model,
  type ModelRequest,
  type ModelResponse,
  Runner,
  tool,
  Usage,
} from "@openai/agents";
import { assistantMessage, functionCall } from "@openai/agents-core/testing";
import { z } from "zod";

/**
 * The agent loop measured: one model call asks for a tool, the tool runs, a second model call
 * answers. The model is scripted and answers after one event-loop turn, so what is left is the
 * SDK's own work, which is exactly what instrumentation adds to.
 */
class LoopModel implements Model {
  #calls = 0;

  async getResponse(_request: ModelRequest): Promise<ModelResponse> {
    // A real model call is I/O: the event loop turns while it is out.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#calls++;
    const usage = new Usage({ requests: 1, inputTokens: 120, outputTokens: 20, totalTokens: 140 });
    if (this.#calls % 2 === 1) {
      return {
        output: [
          functionCall("lookup", { id: `order-${this.#calls}` }, { callId: `call_${this.#calls}` }),
        ],
        usage,
        responseId: `r${this.#calls}`,
      };
    }
    return {
      output: [assistantMessage("Your order ships tomorrow.")],
      usage,
      responseId: `r${this.#calls}`,
    };
  }

  // biome-ignore lint/correctness/useYield: the benchmark never streams
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error("not used");
  }
}

export interface Loop {
  runner: Runner;
  runOnce(): Promise<unknown>;
}

export function createLoop(): Loop {
  const lookup = tool({
    name: "lookup",
    description: "Look up an order",
    parameters: z.object({ id: z.string() }),
    execute: async ({ id }) => ({ id, status: "packed", eta: "tomorrow" }),
  });
  const agent = new Agent({
    name: "Support",
    instructions: "Look the order up, then answer.",
    model: new LoopModel(),
    tools: [lookup],
  });
  const runner = new Runner();
  return {
    runner,
    runOnce: async () => (await runner.run(agent, "Where is my order?")).finalOutput,
  };
}
