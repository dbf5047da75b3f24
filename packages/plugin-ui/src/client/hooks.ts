import { useEffect, useState } from 'preact/hooks'
import { store } from './store.ts'

/** Re-renders the component when the store changed (at most once a frame). */
export function useStore(): number {
  const [, setVersion] = useState(0)
  useEffect(() => store.subscribe(() => setVersion(store.version)), [])
  return store.version
}

/** The page's route, from the address's hash: `#/task/ID` or the overview. */
export function useRoute(): { task?: string } {
  const read = (): { task?: string } => {
    const match = /^#\/task\/(.+)$/.exec(location.hash)
    return match ? { task: decodeURIComponent(match[1]!) } : {}
  }
  const [route, setRoute] = useState(read)
  useEffect(() => {
    const onHash = (): void => setRoute(read())
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])
  return route
}

export const taskHref = (id: string): string => `#/task/${encodeURIComponent(id)}`
