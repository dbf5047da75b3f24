/**
 * A loopback stand-in of the OpenAI Responses API (`POST /v1/responses`, streamed as server-sent
 * events), so tests run the real Codex CLI with no network and no key: the test's script decides
 * every answer from the conversation so far.
 *
 * @example
 * const api = await startFakeOpenAI(taskScript({ command: 'touch FILE', finalText: 'FILE_DONE' }))
 * const codexHome = await writeCodexHome(await mkdtemp(join(tmpdir(), 'codex-home-')), { baseUrl: api.url })
 * spawn(codexBin, ['exec', '--json', '--skip-git-repo-check', '-'], {
 *   cwd, env: { ...codexEnv({ home, codexHome }), PATH: process.env.PATH },
 * })
 * // …
 * await api.close()
 */
import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** An item of a request's `input`, as Codex sends it: messages, tool calls and their outputs. */
export interface InputItem {
  type: string
  role?: string
  /** For messages: `input_text` / `output_text` parts (or a plain string). */
  content?: string | Array<{ type: string; text?: string }>
  /** For `function_call` and `function_call_output`: the call they belong to. */
  call_id?: string
  /** For `function_call_output`: what the tool answered (a string, or content parts). */
  output?: string | Array<{ type: string; text?: string }>
  name?: string
  arguments?: string
  [key: string]: unknown
}

/** The body of `POST /v1/responses`, the parts scripts look at. */
export interface ResponsesRequest {
  model: string
  stream?: boolean
  instructions?: string
  input: InputItem[]
  /** Codex's tools: `function`s (`exec_command`, …), `namespace`s, `web_search`. */
  tools?: Array<{ type: string; name?: string; [key: string]: unknown }>
  [key: string]: unknown
}

/** An item of a scripted answer. Call ids are made up when not given. */
export type ReplyItem =
  | { type: 'message'; text: string }
  | { type: 'function_call'; name: string; arguments: Record<string, unknown> | string; callId?: string }

/** Token counts the fake reports in `response.completed`; Codex turns them into `turn.completed` usage. */
export interface ReplyUsage {
  /** All input tokens, cached ones included (OpenAI's convention). */
  input_tokens: number
  output_tokens: number
  /** Of `input_tokens`, how many were read from the prompt cache. */
  cached_tokens?: number
  reasoning_tokens?: number
}

/** What the script answers to one request. */
export type Reply =
  | {
      output: ReplyItem[]
      usage?: ReplyUsage
    }
  | {
      /** An HTTP error answer: 401, 429, 500… with an OpenAI error body. */
      status: number
      error: { message: string; type?: string; code?: string | null; [key: string]: unknown }
      /** Headers of the error answer, e.g. `retry-after` or `x-ratelimit-reset-requests`. */
      headers?: Record<string, string>
    }
  | {
      /** A stream that starts (200) and ends with `response.failed`, as OpenAI reports some limits. */
      failed: { code: string; message: string }
    }

/** What a script is told besides the request. */
export interface ScriptContext {
  /** 1-based count of requests to `/v1/responses` so far, this one included. */
  turn: number
}

/** Decides each answer. `undefined` answers with a short plain message. */
export type FakeScript = (request: ResponsesRequest, context: ScriptContext) => Reply | undefined

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
export interface FakeOpenAI {
  /** Base URL for a Codex model provider's `base_url`, e.g. `http://127.0.0.1:41234/v1`. */
  url: string
  /** Every request, in arrival order. */
  requests: RecordedRequest[]
  /** The bodies of the `/v1/responses` requests, in order. */
  responsesRequests(): ResponsesRequest[]
  /** Stops the server and drops open connections. */
  close(): Promise<void>
}

/** Usage reported when a reply names none: fixed, so runs are reproducible. */
export const DEFAULT_USAGE: Required<ReplyUsage> = {
  input_tokens: 1200,
  cached_tokens: 400,
  output_tokens: 60,
  reasoning_tokens: 20,
}

/** The model tests name: one Codex knows, so it does not warn about missing model metadata. */
export const FAKE_MODEL = 'gpt-5.5'

/** Starts the fake on 127.0.0.1 at a free port. */
export async function startFakeOpenAI(script: FakeScript): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = []
  const responses: ResponsesRequest[] = []

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
        sendError(res, 500, { message: `fake-openai script failed: ${String(error)}`, type: 'server_error' })
      }
    })
  })

  function route(record: RecordedRequest, res: ServerResponse): number {
    if (record.method === 'POST' && record.path === '/v1/responses') {
      const request = record.body as ResponsesRequest
      responses.push(request)
      const reply = script(request, { turn: responses.length }) ?? { output: [{ type: 'message', text: 'OK' }] }
      if ('status' in reply) return sendError(res, reply.status, reply.error, reply.headers)
      if ('failed' in reply) return streamFailed(res, request.model, reply.failed)
      if (request.stream === false) return sendJson(res, 200, responseObject(request.model, reply, 'completed'))
      return streamResponse(res, request.model, reply)
    }
    // Codex needs nothing else from a custom provider; anything more is logged in `requests`
    // (status 404) so a new CLI version's calls are easy to spot.
    return sendError(res, 404, { message: `fake-openai has no ${record.method} ${record.path}`, type: 'not_found' })
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    responsesRequests: () => [...responses],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

type SuccessReply = Extract<Reply, { output: ReplyItem[] }>

const id = (prefix: string): string => `${prefix}_${randomUUID().replaceAll('-', '')}`

/** The output items of a reply, as the Responses API gives them once complete. */
function outputItems(reply: SuccessReply): Array<Record<string, unknown>> {
  return reply.output.map((item) =>
    item.type === 'message'
      ? {
          id: id('msg'),
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: item.text, annotations: [] }],
        }
      : {
          id: id('fc'),
          type: 'function_call',
          status: 'completed',
          call_id: item.callId ?? id('call'),
          name: item.name,
          arguments: typeof item.arguments === 'string' ? item.arguments : JSON.stringify(item.arguments),
        },
  )
}

function usageOf(reply: SuccessReply): Record<string, unknown> {
  const usage = { ...DEFAULT_USAGE, ...reply.usage }
  return {
    input_tokens: usage.input_tokens,
    input_tokens_details: { cached_tokens: usage.cached_tokens },
    output_tokens: usage.output_tokens,
    output_tokens_details: { reasoning_tokens: usage.reasoning_tokens },
    total_tokens: usage.input_tokens + usage.output_tokens,
  }
}

function responseObject(
  model: string,
  reply: SuccessReply,
  status: 'in_progress' | 'completed',
  responseId = id('resp'),
  output = outputItems(reply),
): Record<string, unknown> {
  return {
    id: responseId,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    model,
    output: status === 'completed' ? output : [],
    usage: status === 'completed' ? usageOf(reply) : null,
  }
}

function startStream(res: ServerResponse): (event: string, data: Record<string, unknown>) => void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'x-request-id': id('req'),
  })
  let sequence = 0
  return (event, data) => {
    res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, sequence_number: sequence++, ...data })}\n\n`)
  }
}

/** A whole turn as OpenAI streams it: items added, their text or arguments in deltas, done, completed. */
function streamResponse(res: ServerResponse, model: string, reply: SuccessReply): number {
  const responseId = id('resp')
  const items = outputItems(reply)
  const send = startStream(res)
  send('response.created', { response: responseObject(model, reply, 'in_progress', responseId) })
  send('response.in_progress', { response: responseObject(model, reply, 'in_progress', responseId) })
  items.forEach((item, index) => {
    const itemId = String(item.id)
    // Two deltas per item, so the CLI really assembles the text or arguments from pieces.
    const halves = (text: string): string[] => {
      const half = Math.ceil(text.length / 2)
      return [text.slice(0, half), text.slice(half)].filter(Boolean)
    }
    if (item.type === 'message') {
      const text = String((item.content as Array<{ text: string }>)[0]!.text)
      send('response.output_item.added', {
        output_index: index,
        item: { ...item, status: 'in_progress', content: [] },
      })
      const part = { type: 'output_text', text: '', annotations: [] }
      send('response.content_part.added', { item_id: itemId, output_index: index, content_index: 0, part })
      for (const delta of halves(text)) {
        send('response.output_text.delta', { item_id: itemId, output_index: index, content_index: 0, delta })
      }
      send('response.output_text.done', { item_id: itemId, output_index: index, content_index: 0, text })
      send('response.content_part.done', {
        item_id: itemId,
        output_index: index,
        content_index: 0,
        part: { ...part, text },
      })
    } else {
      const args = String(item.arguments)
      send('response.output_item.added', {
        output_index: index,
        item: { ...item, status: 'in_progress', arguments: '' },
      })
      for (const delta of halves(args)) {
        send('response.function_call_arguments.delta', { item_id: itemId, output_index: index, delta })
      }
      send('response.function_call_arguments.done', { item_id: itemId, output_index: index, arguments: args })
    }
    send('response.output_item.done', { output_index: index, item })
  })
  send('response.completed', { response: responseObject(model, reply, 'completed', responseId, items) })
  res.end()
  return 200
}

/** A stream that fails mid-way, as OpenAI reports e.g. a tokens-per-minute limit it hit while generating. */
function streamFailed(res: ServerResponse, model: string, failed: { code: string; message: string }): number {
  const responseId = id('resp')
  const send = startStream(res)
  const base = { id: responseId, object: 'response', created_at: Math.floor(Date.now() / 1000), model, output: [] }
  send('response.created', { response: { ...base, status: 'in_progress' } })
  send('response.failed', { response: { ...base, status: 'failed', error: failed, usage: null } })
  res.end()
  return 200
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': id('req'), ...headers })
  res.end(JSON.stringify(body))
  return status
}

function sendError(
  res: ServerResponse,
  status: number,
  error: Extract<Reply, { status: number }>['error'],
  headers: Record<string, string> = {},
): number {
  return sendJson(res, status, { error: { type: null, code: null, param: null, ...error } }, headers)
}

/** The 401 OpenAI answers to a key it does not know. */
export function invalidKeyReply(): Reply {
  return {
    status: 401,
    error: {
      message:
        'Incorrect API key provided: sk-fake***. You can find your API key at https://platform.openai.com/account/api-keys.',
      type: 'invalid_request_error',
      code: 'invalid_api_key',
    },
  }
}

/**
 * The 429 OpenAI answers when a rate limit is hit: its message says when to try again, and so do
 * `retry-after` and the `x-ratelimit-reset-*` headers.
 */
export function rateLimitReply(seconds = 20): Reply {
  return {
    status: 429,
    error: {
      message: `Rate limit reached for ${FAKE_MODEL} in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${seconds}s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
      type: 'requests',
      code: 'rate_limit_exceeded',
    },
    headers: {
      'retry-after': String(seconds),
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': `${seconds}s`,
      'x-ratelimit-limit-tokens': '30000',
      'x-ratelimit-remaining-tokens': '29000',
      'x-ratelimit-reset-tokens': '2s',
    },
  }
}

/**
 * The 429 of a ChatGPT plan's usage limit (`usage_limit_reached`), with the reset time in the body
 * (epoch seconds) and in Codex's own rate-limit headers.
 */
export function usageLimitReply(resetsAt: Date): Reply {
  const seconds = Math.floor(resetsAt.getTime() / 1000)
  const inSeconds = Math.max(0, Math.round((resetsAt.getTime() - Date.now()) / 1000))
  return {
    status: 429,
    error: {
      message: 'The usage limit has been reached',
      type: 'usage_limit_reached',
      plan_type: 'plus',
      resets_at: seconds,
      resets_in_seconds: inSeconds,
    },
    headers: {
      'x-codex-primary-used-percent': '100',
      'x-codex-primary-window-minutes': '300',
      'x-codex-primary-reset-at': String(seconds),
      'x-codex-primary-reset-after-seconds': String(inSeconds),
    },
  }
}

/** The text of a message's or tool output's content, whether a string or parts. */
export function contentText(content: InputItem['content'] | InputItem['output']): string {
  if (content === undefined) return ''
  if (typeof content === 'string') return content
  return content.map((part) => part.text ?? '').join('')
}

/** The text the user sent (the prompt, with Codex's environment context before it). */
export function userText(request: ResponsesRequest): string {
  return request.input
    .filter((item) => item.type === 'message' && item.role === 'user')
    .map((item) => contentText(item.content))
    .join('\n')
}

/** The tool outputs sent back since the model's last answer (what its tool calls just returned). */
export function lastToolOutputs(request: ResponsesRequest): InputItem[] {
  const outputs: InputItem[] = []
  for (let at = request.input.length - 1; at >= 0; at -= 1) {
    const item = request.input[at]!
    if (item.type !== 'function_call_output' && item.type !== 'custom_tool_call_output') break
    outputs.unshift(item)
  }
  return outputs
}

/**
 * A call of Codex's shell tool for `command`, in the shape the request's tools offer: the unified
 * `exec_command` (`cmd`), or the older `shell` (an argv).
 */
export function shellCall(request: ResponsesRequest, command: string): ReplyItem {
  const names = new Set((request.tools ?? []).map((tool) => tool.name))
  if (!names.has('exec_command') && names.has('shell')) {
    return { type: 'function_call', name: 'shell', arguments: { command: ['bash', '-lc', command] } }
  }
  return { type: 'function_call', name: 'exec_command', arguments: { cmd: command } }
}

/**
 * The usual task script: the first turn runs `command` with Codex's shell tool in the agent's
 * working directory; once its output arrives, the agent answers `finalText` (which should carry the
 * completion signal). Either can be a function, to answer per task from the prompt.
 */
export function taskScript(options: {
  command: string | ((prompt: string) => string)
  finalText: string | ((toolOutput: string, prompt: string) => string)
  usage?: ReplyUsage
}): FakeScript {
  return (request) => {
    const outputs = lastToolOutputs(request)
    const prompt = userText(request)
    const usage = options.usage ? { usage: options.usage } : {}
    if (outputs.length === 0) {
      const command = typeof options.command === 'function' ? options.command(prompt) : options.command
      return { output: [{ type: 'message', text: 'I will run a command.' }, shellCall(request, command)], ...usage }
    }
    const text =
      typeof options.finalText === 'function'
        ? options.finalText(contentText(outputs[0]!.output), prompt)
        : options.finalText
    return { output: [{ type: 'message', text }], ...usage }
  }
}

/**
 * The Codex command installed as a dev dependency of @tanuki/plugin-agent-process: pnpm's
 * `.bin/codex` shim, which starts the Node launcher, which starts the native binary. Stop it by its
 * process group (as the process backend does), not its pid.
 */
export const codexBin = fileURLToPath(
  new URL('../../packages/plugin-agent-process/node_modules/.bin/codex', import.meta.url),
)

/** The id of the model provider {@link writeCodexHome} configures. */
export const FAKE_PROVIDER = 'tanuki-fake'

/**
 * Writes a `config.toml` into `codexHome` that sends Codex to the fake: a model provider of its own
 * (custom providers speak plain HTTP + SSE to `base_url`; the built-in `openai` one prefers a
 * WebSocket to api.openai.com), no retries (an error answer ends the turn at once), no analytics,
 * no update check, no history file, no plugins (whose marketplace sync looks up api.github.com
 * and chatgpt.com). Returns `codexHome`, for `CODEX_HOME`.
 */
export async function writeCodexHome(
  codexHome: string,
  options: { baseUrl: string; envKey?: string; model?: string; retries?: number },
): Promise<string> {
  const retries = options.retries ?? 0
  const config = [
    `model = ${JSON.stringify(options.model ?? FAKE_MODEL)}`,
    `model_provider = ${JSON.stringify(FAKE_PROVIDER)}`,
    'check_for_update_on_startup = false',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[feedback]',
    'enabled = false',
    '',
    '[history]',
    'persistence = "none"',
    '',
    // Plugins sync a marketplace from api.github.com and chatgpt.com at start: no calls out.
    '[features]',
    'plugins = false',
    '',
    `[model_providers.${FAKE_PROVIDER}]`,
    'name = "Tanuki test stand-in"',
    `base_url = ${JSON.stringify(options.baseUrl)}`,
    `env_key = ${JSON.stringify(options.envKey ?? 'OPENAI_API_KEY')}`,
    'wire_api = "responses"',
    `request_max_retries = ${retries}`,
    `stream_max_retries = ${retries}`,
    '',
  ].join('\n')
  await writeFile(join(codexHome, 'config.toml'), config)
  return codexHome
}

/**
 * The environment that makes the real CLI talk only to the fake, with no user config: pass it
 * whole (plus PATH) rather than merged into `process.env`, so a developer's settings stay out.
 */
export function codexEnv(options: {
  home: string
  codexHome: string
  /** The key, in the provider's `env_key` variable. Default: a fake `OPENAI_API_KEY`. */
  key?: { name: string; value: string } | false
}): Record<string, string> {
  const key = options.key === undefined ? { name: 'OPENAI_API_KEY', value: 'sk-fake-key' } : options.key
  return {
    HOME: options.home,
    CODEX_HOME: options.codexHome,
    ...(key ? { [key.name]: key.value } : {}),
    // The empty HOME has no git identity; commits (Tanuki's in a worktree) need one.
    GIT_AUTHOR_NAME: 'Tanuki Test',
    GIT_AUTHOR_EMAIL: 'tanuki-test@example.com',
    GIT_COMMITTER_NAME: 'Tanuki Test',
    GIT_COMMITTER_EMAIL: 'tanuki-test@example.com',
  }
}
