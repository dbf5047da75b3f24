import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  codexBin,
  codexEnv,
  rateLimitReply,
  startFakeOpenAI,
  taskScript,
  usageLimitReply,
  writeCodexHome,
  type FakeOpenAI,
} from '../../../test/support/fake-openai.ts'

// The fake's streaming path is exercised by the real CLI in codex.test.ts; these cover the rest.
describe('fake OpenAI Responses API', () => {
  let api: FakeOpenAI | undefined
  let base: string | undefined
  afterEach(async () => {
    await api?.close()
    api = undefined
    if (base) await rm(base, { recursive: true, force: true })
    base = undefined
  })

  const post = (body: unknown, path = '/responses'): Promise<Response> =>
    fetch(`${api!.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })

  const tools = [{ type: 'function', name: 'exec_command' }]

  it('streams a turn as server-sent events, and answers turn by turn from the tool outputs', async () => {
    api = await startFakeOpenAI(
      taskScript({ command: 'touch FILE', finalText: (output) => `saw: ${output}. FILE_DONE` }),
    )
    const user = { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Create FILE' }] }
    const first = await post({ model: 'm', stream: true, tools, input: [user] })
    expect(first.headers.get('content-type')).toBe('text/event-stream')
    const events = (await first.text())
      .split('\n\n')
      .filter(Boolean)
      .map((block) => JSON.parse(block.split('\ndata: ')[1]!) as Record<string, any>)
    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ])
    const call = events[13]!.item
    expect(call).toMatchObject({ type: 'function_call', name: 'exec_command', arguments: '{"cmd":"touch FILE"}' })
    expect(events.at(-1)!.response.usage).toMatchObject({
      input_tokens: 1200,
      input_tokens_details: { cached_tokens: 400 },
    })

    const second = await post({
      model: 'm',
      stream: false,
      tools,
      input: [user, call, { type: 'function_call_output', call_id: call.call_id, output: 'done' }],
    })
    const response = (await second.json()) as { output: Array<{ content: Array<{ text: string }> }> }
    expect(response.output[0]!.content[0]!.text).toBe('saw: done. FILE_DONE')
    expect(api.responsesRequests()).toHaveLength(2)
  })

  it('sends scripted errors with OpenAI error bodies and their headers, and logs unknown paths as 404', async () => {
    const resets = new Date(Date.now() + 3600_000)
    const replies = [rateLimitReply(7), usageLimitReply(resets)]
    api = await startFakeOpenAI((_request, { turn }) => replies[turn - 1])
    const limited = await post({ model: 'm', input: [] })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('7')
    expect(limited.headers.get('x-ratelimit-reset-requests')).toBe('7s')
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limit_exceeded', type: 'requests' } })
    const usage = await post({ model: 'm', input: [] })
    expect(usage.headers.get('x-codex-primary-reset-at')).toBe(String(Math.floor(resets.getTime() / 1000)))
    expect(await usage.json()).toMatchObject({
      error: { type: 'usage_limit_reached', resets_at: Math.floor(resets.getTime() / 1000) },
    })
    expect((await fetch(`${api.url}/models`)).status).toBe(404)
    expect(api.requests.map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual([
      'POST /v1/responses 429',
      'POST /v1/responses 429',
      'GET /v1/models 404',
    ])
  })

  it('writes a Codex config that the real CLI accepts under --strict-config, and Codex calls nothing else', async () => {
    api = await startFakeOpenAI(() => ({ output: [{ type: 'message', text: 'hello' }] }))
    base = await mkdtemp(join(tmpdir(), 'tanuki-fake-openai-'))
    const home = join(base, 'home')
    const codexHome = join(base, 'codex-home')
    for (const dir of [home, codexHome]) await mkdir(dir)
    await writeCodexHome(codexHome, { baseUrl: api.url })
    const child = spawn(codexBin, ['exec', '--strict-config', '--json', '--skip-git-repo-check', '-'], {
      cwd: base,
      env: { ...codexEnv({ home, codexHome }), PATH: process.env.PATH ?? '/usr/bin:/bin' },
    })
    let out = ''
    child.stdout.on('data', (data: Buffer) => (out += data.toString()))
    child.stdin.end('Say hello')
    const code = await new Promise((resolve) => child.on('close', resolve))
    expect(code).toBe(0)
    expect(out).toContain('"type":"agent_message","text":"hello"')
    // No "model metadata not found" warning: the fake names a model Codex knows.
    expect(out).not.toContain('"type":"error"')
    expect(api.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['POST /v1/responses'])
  }, 60_000)
})
