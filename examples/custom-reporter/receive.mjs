// A webhook receiver for the demo: prints every post it gets. `node receive.mjs [port]`.
import { createServer } from 'node:http'

const port = Number(process.argv[2] ?? 8787)
createServer((request, response) => {
  let body = ''
  request.on('data', (chunk) => (body += chunk))
  request.on('end', () => {
    const post = JSON.parse(body)
    console.log(`${new Date(post.at).toISOString()}  ${post.summary}`)
    response.writeHead(204).end()
  })
}).listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}/tanuki`))
