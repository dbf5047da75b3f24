const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])

/** What the CLI prints once the dashboard listens: its URL, and a warning when others can reach it. */
export function dashboardBanner(url: string, host: string): string {
  const lines = [`Dashboard: ${url}`]
  if (!LOOPBACK.has(host)) {
    lines.push(
      `  warning: listening on ${host}, not only this machine: anyone who can reach it and learns the URL (its token) can see every task and transcript, and stop or rerun work. Plain HTTP: the token crosses the network unencrypted.`,
    )
  }
  return lines.join('\n') + '\n'
}
