import { defineConfig } from 'tanuki'

// The orchestrator's side. Redis's address (and password, in TANUKI_REDIS_PASSWORD) come from the
// environment, so this file can be committed; workers read the same file in their clones.
export default defineConfig({
  name: 'remote-demo',
  cooldownMs: 200,
  remote: {
    redis: process.env.TANUKI_REDIS_URL ?? 'redis://127.0.0.1:6379',
    // With TLS: redis: 'rediss://redis.tanuki.svc:6380', tls: { ca: './redis-ca.pem' },
  },
  agents: {
    // Three sessions at once, on whichever workers of role "build" have room.
    build: { backend: 'remote', kind: 'shell', count: 3 },
  },
})
