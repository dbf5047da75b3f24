/**
 * A loopback stand-in of the Anthropic Messages API, so tests run the real Claude Code CLI with
 * no network and no key: the test's script decides every answer from the conversation so far.
 *
 * @example
 * const api = await startFakeAnthropic(taskScript({ command: 'touch FILE', finalText: 'FILE_DONE' }))
 * spawn(claudeBin, ['-p', 'Create FILE', '--output-format', 'stream-json', '--verbose'], {
 *   cwd, env: { ...claudeEnv({ baseUrl: api.url, home }), PATH: process.env.PATH },
 * })
 * // …
 * await api.close()
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

/** A content block of a request's message, as Claude Code sends it. */
export interface RequestBlock {
  type: string
  text?: string
  /** For `tool_result`: the `tool_use` it answers. */
  tool_use_id?: string
  /** For `tool_result`: a string or text blocks. */
  content?: string | Array<{ type: string; text?: string }>
  is_error?: boolean
  [key: string]: unknown
}

/** One message of a request's conversation. */
export interface RequestMessage {
  role: string
  content: string | RequestBlock[]
}

/** The body of `POST /v1/messages`, the parts scripts look at. */
export interface MessagesRequest {
  model: string
  max_tokens?: number
  stream?: boolean
  system?: unknown
  messages: RequestMessage[]
  tools?: Array<{ name: string; [key: string]: unknown }>
  [key: string]: unknown
}

/** A block of a scripted answer. `tool_use` ids are made up when not given. */
export type ReplyBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown>; id?: string }

/** Token counts the fake reports; Claude Code turns them into usage and cost. */
export interface ReplyUsage {
  input_tokens: number
  output_tokens: number
  cache_read_input_tokens?: number
  cache_creation_input_tokens?: number
}

/** What the script answers to one request. */
export type Reply =
  | {
      content: ReplyBlock[]
      /** Defaults to `tool_use` when the content has a tool call, else `end_turn`. */
      stopReason?: 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence'
      usage?: ReplyUsage
      /** Streamed answers only: the connection is dropped after the first half of the first block. */
      cut?: boolean
    }
  | {
      /** An HTTP error answer, e.g. 529 `overloaded_error` or 400 `invalid_request_error`. */
      status: number
      error: { type: string; message: string }
      /** Headers of the error answer, e.g. `retry-after` or `anthropic-ratelimit-requests-reset`. */
      headers?: Record<string, string>
    }

/** What a script is told besides the request. */
export interface ScriptContext {
  /** True for the agent loop (the request offers tools); false for side requests (titles, quota). */
  mainLoop: boolean
  /** 1-based count of main-loop requests so far, this one included (0 for side requests). */
  turn: number
}

/** Decides each answer. Side requests get a short plain answer unless the script returns one. */
export type FakeScript = (request: MessagesRequest, context: ScriptContext) => Reply | undefined

/** One request the server saw, in order. */
export interface RecordedRequest {
  method: string
  /** Path without the query string. */
  path: string
  headers: IncomingMessage['headers']
  /** The parsed JSON body, or `undefined` when there was none (or it was not JSON). */
  body: unknown
  /** What the server answered with (status code). */
  status: number
}

/** A running fake. */
export interface FakeAnthropic {
  /** Base URL for `ANTHROPIC_BASE_URL`, e.g. `http://127.0.0.1:41234`. */
  url: string
  /** Every request, in arrival order. */
  requests: RecordedRequest[]
  /** Main-loop message requests only (those with tools), in order. */
  mainLoopRequests(): MessagesRequest[]
  /** Stops the server and drops open connections. */
  close(): Promise<void>
}

/** Usage reported when a reply names none: fixed, so runs are reproducible. */
export const DEFAULT_USAGE: Required<ReplyUsage> = {
  input_tokens: 120,
  output_tokens: 30,
  cache_read_input_tokens: 40,
  cache_creation_input_tokens: 10,
}

/** Starts the fake on 127.0.0.1 at a free port. */
export async function startFakeAnthropic(script: FakeScript): Promise<FakeAnthropic> {
  const requests: RecordedRequest[] = []
  const mainLoop: MessagesRequest[] = []

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/'
      const text = Buffer.concat(chunks).toString('utf8')
      let body: unknown
      try {
        body = text ? JSON.parse(text) : undefined
      } catch {
        body = undefined
      }
      const record: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, status: 0 }
      requests.push(record)
      try {
        record.status = route(record, res)
      } catch (error) {
        // A throwing script is a bug in the test: answer 500 and let the CLI report it.
        record.status = 500
        sendError(res, 500, 'api_error', `fake-anthropic script failed: ${String(error)}`)
      }
    })
  })

  function route(record: RecordedRequest, res: ServerResponse): number {
    if (record.method === 'POST' && record.path === '/v1/messages/count_tokens') {
      const size = JSON.stringify(record.body ?? '').length
      return sendJson(res, 200, { input_tokens: Math.max(1, Math.ceil(size / 4)) })
    }
    if (record.method === 'POST' && record.path === '/v1/messages') {
      const request = record.body as MessagesRequest
      const isMain = Array.isArray(request.tools) && request.tools.length > 0
      if (isMain) mainLoop.push(request)
      const context: ScriptContext = { mainLoop: isMain, turn: isMain ? mainLoop.length : 0 }
      const reply = script(request, context) ?? { content: [{ type: 'text', text: 'OK' }] }
      if ('status' in reply) return sendError(res, reply.status, reply.error.type, reply.error.message, reply.headers)
      if (request.stream) return streamMessage(res, request.model, reply)
      return sendJson(res, 200, message(request.model, reply))
    }
    // Claude Code's connectivity check, sent when nonessential traffic is not disabled.
    if (record.path === '/api/hello') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(record.method === 'HEAD' ? undefined : '{}')
      return 200
    }
    // Claude Code needs nothing else with CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1; anything
    // more is logged in `requests` (status 404) so a new CLI version's calls are easy to spot.
    return sendError(res, 404, 'not_found_error', `fake-anthropic has no ${record.method} ${record.path}`)
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    mainLoopRequests: () => [...mainLoop],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

type SuccessReply = Extract<Reply, { content: ReplyBlock[] }>

function contentOf(reply: SuccessReply): Array<Record<string, unknown>> {
  return reply.content.map((block) =>
    block.type === 'text'
      ? { type: 'text', text: block.text }
      : {
          type: 'tool_use',
          id: block.id ?? `toolu_${randomUUID().replaceAll('-', '')}`,
          name: block.name,
          input: block.input,
        },
  )
}

function stopReasonOf(reply: SuccessReply): string {
  return reply.stopReason ?? (reply.content.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn')
}

function message(model: string, reply: SuccessReply): Record<string, unknown> {
  return {
    id: `msg_${randomUUID().replaceAll('-', '')}`,
    type: 'message',
    role: 'assistant',
    model,
    content: contentOf(reply),
    stop_reason: stopReasonOf(reply),
    stop_sequence: null,
    usage: { ...DEFAULT_USAGE, ...reply.usage },
  }
}

function streamMessage(res: ServerResponse, model: string, reply: SuccessReply): number {
  const full = message(model, reply)
  const usage = full.usage as Required<ReplyUsage>
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'request-id': `req_${randomUUID()}`,
  })
  const send = (event: string, data: Record<string, unknown>): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`)
  }
  send('message_start', {
    message: { ...full, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
  })
  send('ping', {})
  const blocks = full.content as Array<Record<string, unknown>>
  blocks.forEach((block, index) => {
    if (reply.cut && index > 0) return
    if (block.type === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } })
      // Two deltas, so the CLI really assembles the text from pieces.
      const text = String(block.text)
      const half = Math.ceil(text.length / 2)
      for (const piece of [text.slice(0, half), text.slice(half)]) {
        if (piece) send('content_block_delta', { index, delta: { type: 'text_delta', text: piece } })
        if (reply.cut) break
      }
    } else {
      send('content_block_start', { index, content_block: { ...block, input: {} } })
      const json = JSON.stringify(block.input)
      const half = Math.ceil(json.length / 2)
      for (const piece of [json.slice(0, half), json.slice(half)]) {
        send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } })
        if (reply.cut) break
      }
    }
    if (reply.cut) return
    send('content_block_stop', { index })
  })
  // A cut answer: the connection drops mid-message, as a proxy or network failure would.
  if (reply.cut) {
    res.socket?.destroy()
    return 200
  }
  send('message_delta', {
    delta: { stop_reason: full.stop_reason, stop_sequence: null },
    usage: { output_tokens: usage.output_tokens },
  })
  send('message_stop', {})
  res.end()
  return 200
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${randomUUID()}`, ...headers })
  res.end(JSON.stringify(body))
  return status
}

function sendError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): number {
  return sendJson(res, status, { type: 'error', error: { type, message } }, headers)
}

/** The blocks of a message, whether its content is a string or a list. */
export function blocksOf(message: RequestMessage | undefined): RequestBlock[] {
  if (!message) return []
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content
}

/** The `tool_result` blocks of the request's last message (what the tools just answered). */
export function lastToolResults(request: MessagesRequest): RequestBlock[] {
  return blocksOf(request.messages.at(-1)).filter((block) => block.type === 'tool_result')
}

/** A tool result's text, whether given as a string or as text blocks. */
export function toolResultText(block: RequestBlock): string {
  if (typeof block.content === 'string') return block.content
  return (block.content ?? []).map((part) => part.text ?? '').join('')
}

/** The text the user sent in the conversation's messages (the prompt, with reminders). */
export function userText(request: MessagesRequest): string {
  return request.messages
    .filter((message) => message.role === 'user')
    .flatMap(blocksOf)
    .map((block) => block.text ?? '')
    .join('\n')
}

/**
 * The usual task script: the first main-loop turn runs `command` with the Bash tool in the agent's
 * working directory; once its result arrives, the agent answers `finalText` (which should carry
 * the completion signal). Either can be a function, to answer per task from the prompt (the user
 * text of the conversation, which holds the task's id and body).
 */
export function taskScript(options: {
  command: string | ((prompt: string) => string)
  finalText: string | ((toolOutput: string, isError: boolean, prompt: string) => string)
  usage?: ReplyUsage
}): FakeScript {
  return (request, { mainLoop }) => {
    if (!mainLoop) return undefined
    const results = lastToolResults(request)
    if (results.length === 0) {
      const command = typeof options.command === 'function' ? options.command(userText(request)) : options.command
      return {
        content: [
          { type: 'text', text: 'I will run a command.' },
          { type: 'tool_use', name: 'Bash', input: { command, description: 'Run the task command' } },
        ],
        usage: options.usage,
      }
    }
    const result = results[0]!
    const text =
      typeof options.finalText === 'function'
        ? options.finalText(toolResultText(result), result.is_error === true, userText(request))
        : options.finalText
    return { content: [{ type: 'text', text }], usage: options.usage }
  }
}

/**
 * The Claude Code command installed as a dev dependency of @tanuki/plugin-agent-process: pnpm's
 * `.bin/claude` shim, so `dirname(claudeBin)` on PATH makes plain `claude` work. The shim stays as
 * a parent of Claude Code: stop it by its process group (as the process backend does), not its pid.
 */
export const claudeBin = fileURLToPath(
  new URL('../../packages/plugin-agent-process/node_modules/.bin/claude', import.meta.url),
)

/** The native Claude Code executable behind {@link claudeBin}, for tests that kill by pid. */
export const claudeNativeBin = fileURLToPath(
  new URL('../../packages/plugin-agent-process/node_modules/@anthropic-ai/claude-code/bin/claude.exe', import.meta.url),
)

/**
 * The environment that makes the real CLI talk only to the fake, with no user config: pass it
 * whole (plus PATH) rather than merged into `process.env`, so a developer's settings stay out.
 */
export function claudeEnv(options: { baseUrl: string; home: string }): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: options.baseUrl,
    ANTHROPIC_API_KEY: 'sk-ant-fake-key',
    HOME: options.home,
    // No telemetry, update checks or other calls besides the Messages API.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    // Tests run as root, where Claude Code refuses to skip permissions outside a sandbox.
    IS_SANDBOX: '1',
    // An error answer is retried with backoff up to ten times by default: fail fast instead.
    CLAUDE_CODE_MAX_RETRIES: '0',
    // The empty HOME has no git identity; commits (Claude's own, or Tanuki's in a worktree) need one.
    GIT_AUTHOR_NAME: 'Tanuki Test',
    GIT_AUTHOR_EMAIL: 'tanuki-test@example.com',
    GIT_COMMITTER_NAME: 'Tanuki Test',
    GIT_COMMITTER_EMAIL: 'tanuki-test@example.com',
  }
}
