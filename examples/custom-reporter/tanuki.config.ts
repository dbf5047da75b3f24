import { defineConfig } from 'tanuki'
import { webhookReporter } from './webhook-reporter.ts'

// Offline: agents are the `shell` kind, which runs the fenced sh blocks of each task's body.
// The webhook URL comes from the config; the environment may override it for the demo.
export default defineConfig({
  cooldownMs: 100,
  defaults: { backend: 'process', kind: 'shell' },
  plugins: [webhookReporter({ url: process.env.TANUKI_WEBHOOK_URL ?? 'http://127.0.0.1:8787/tanuki' })],
})
