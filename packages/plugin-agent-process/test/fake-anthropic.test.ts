import { afterEach, describe, expect, it } from 'vitest'
import { startFakeAnthropic, taskScript, type FakeAnthropic } from '../../../test/support/fake-anthropic.ts'

// The fake's streaming path is exercised by the real CLI in claude.test.ts; these cover the rest.
describe('fake Anthropic Messages API', () => {
  let api: FakeAnthropic | undefined
  afterEach(async () => {
    await api?.close()
    api = undefined
  })

  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${api!.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })

  const tools = [{ name: 'Bash', input_schema: { type: 'object' } }]

  it('answers non-streaming requests with whole messages, turn by turn', async () => {
    api = await startFakeAnthropic(
      taskScript({ command: 'touch FILE', finalText: (output) => `saw: ${output}. FILE_DONE` }),
    )
    const first = await post('/v1/messages?beta=true', {
      model: 'm',
      max_tokens: 100,
      tools,
      messages: [{ role: 'user', content: 'Create FILE' }],
    })
    const message = (await first.json()) as {
      content: Array<Record<string, unknown>>
      stop_reason: string
      model: string
    }
    expect(message.stop_reason).toBe('tool_use')
    expect(message.model).toBe('m')
    const call = message.content.find((block) => block.type === 'tool_use')!
    expect(call).toMatchObject({ name: 'Bash', input: { command: 'touch FILE' } })

    const second = await post('/v1/messages', {
      model: 'm',
      max_tokens: 100,
      tools,
      messages: [
        { role: 'user', content: 'Create FILE' },
        { role: 'assistant', content: message.content },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: call.id, content: [{ type: 'text', text: 'ok' }] }],
        },
      ],
    })
    const final = (await second.json()) as { content: Array<{ text?: string }>; stop_reason: string }
    expect(final.stop_reason).toBe('end_turn')
    expect(final.content[0]!.text).toBe('saw: ok. FILE_DONE')
    expect(api.mainLoopRequests()).toHaveLength(2)
  })

  it('answers side requests (no tools) plainly, counts tokens, and logs unknown paths as 404', async () => {
    api = await startFakeAnthropic(taskScript({ command: 'true', finalText: 'done' }))
    const side = (await (
      await post('/v1/messages', { model: 'haiku', max_tokens: 50, messages: [{ role: 'user', content: 'title?' }] })
    ).json()) as {
      content: Array<{ text: string }>
    }
    expect(side.content).toEqual([{ type: 'text', text: 'OK' }])
    const counted = (await (
      await post('/v1/messages/count_tokens', { messages: [{ role: 'user', content: 'x'.repeat(400) }] })
    ).json()) as {
      input_tokens: number
    }
    expect(counted.input_tokens).toBeGreaterThan(100)
    expect((await fetch(`${api.url}/api/hello`, { method: 'HEAD' })).status).toBe(200)
    const unknown = await fetch(`${api.url}/api/oauth/profile`)
    expect(unknown.status).toBe(404)
    expect(api.requests.map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual([
      'POST /v1/messages 200',
      'POST /v1/messages/count_tokens 200',
      'HEAD /api/hello 200',
      'GET /api/oauth/profile 404',
    ])
    expect(api.mainLoopRequests()).toHaveLength(0)
  })

  it('sends scripted HTTP errors as Anthropic error bodies', async () => {
    api = await startFakeAnthropic(() => ({
      status: 400,
      error: { type: 'invalid_request_error', message: 'prompt is too long' },
    }))
    const answer = await post('/v1/messages', { model: 'm', max_tokens: 1, tools, messages: [] })
    expect(answer.status).toBe(400)
    expect(await answer.json()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'prompt is too long' },
    })
  })
})
