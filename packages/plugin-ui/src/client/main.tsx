import { render } from 'preact'
import { useEffect } from 'preact/hooks'
import { Header } from './components/header.tsx'
import { Overview } from './components/overview.tsx'
import { TaskPage } from './components/task-page.tsx'
import { useRoute, useStore } from './hooks.ts'
import { store } from './store.ts'

function App() {
  useStore()
  const route = useRoute()
  useEffect(() => {
    // Marks the first render with data, for tests and the benchmark.
    if (store.seq >= 0 && store.version > 0) document.body.dataset.ready = 'true'
  })
  return (
    <>
      <Header />
      {route.task ? <TaskPage key={route.task} id={route.task} /> : <Overview />}
    </>
  )
}

store.start().catch((error: Error) => {
  document.body.dataset.error = error.message
  document.getElementById('app')!.textContent = `The dashboard could not load: ${error.message}`
})
render(<App />, document.getElementById('app')!)
