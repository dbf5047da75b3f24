import { remark } from 'remark'

/** A fenced code block of a task's body. */
export interface CodeBlock {
  /** The info string's first word (`sh`, `bash`, `ts`…), or '' when the fence has none. */
  lang: string
  /** The rest of the info string. */
  meta: string
  /** The block's text, without the fences. */
  code: string
  /** 1-based line in the body where the block starts. */
  line: number
}

interface MdNode {
  type: string
  lang?: string | null
  meta?: string | null
  value?: string
  position?: { start: { line: number; offset?: number } }
  children?: MdNode[]
}

const parser = remark()

/**
 * The fenced code blocks of a Markdown body, in order, optionally only those of some languages.
 *
 * @example
 * codeBlocks(task.body, ['sh', 'bash']).map((block) => block.code)
 */
export function codeBlocks(markdown: string, langs?: readonly string[]): CodeBlock[] {
  const tree = parser.parse(markdown) as MdNode
  const found: CodeBlock[] = []
  const visit = (node: MdNode): void => {
    if (node.type === 'code') {
      // mdast calls indented code `code` too; only fenced blocks are the author's runnable snippets.
      const at = node.position?.start.offset ?? 0
      const fenced = markdown.startsWith('```', at) || markdown.startsWith('~~~', at)
      if (!fenced) return
      const lang = node.lang ?? ''
      if (!langs || langs.includes(lang)) {
        found.push({ lang, meta: node.meta ?? '', code: node.value ?? '', line: node.position?.start.line ?? 0 })
      }
      return
    }
    for (const child of node.children ?? []) visit(child)
  }
  visit(tree)
  return found
}
