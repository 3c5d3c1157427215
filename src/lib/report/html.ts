// HTML built safely: every value put into the report goes through escapeHtml, by way of the
// `html` template tag, which escapes each interpolated value unless it is already Html (markup
// built by this tag). Run names, reasons, notes and eval output come from users and agents: a
// name `<script>` or `" onload="…` must print as text, in element content and in a quoted
// attribute alike. There is no other way to make Html from a string.

const MADE_HERE = Symbol('html')

/** Markup this module produced (escaped values in trusted templates); anything else is text. */
export class Html {
  readonly #text: string
  /** Only html`` and joinHtml create Html: the token is this module's own. */
  constructor(token: symbol, text: string) {
    if (token !== MADE_HERE) throw new TypeError('Html is made by html`…`, never from a string')
    this.#text = text
  }

  toString(): string {
    return this.#text
  }
}

const ENTITIES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}

/** The one escaping function: text safe in element content and in single- or double-quoted attributes. */
export function escapeHtml(value: unknown): string {
  if (value === null || value === undefined) return ''
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c])
}

type Interpolated = Html | string | number | boolean | null | undefined | readonly Interpolated[]

function piece(value: Interpolated): string {
  if (value instanceof Html) return value.toString()
  if (Array.isArray(value)) return value.map(piece).join('')
  return escapeHtml(value)
}

/** A template whose interpolated values are escaped (arrays: each item; Html: kept as is). */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): Html {
  let text = strings[0]
  values.forEach((value, i) => {
    text += piece(value) + strings[i + 1]
  })
  return new Html(MADE_HERE, text)
}

export function joinHtml(parts: readonly Html[], separator = ''): Html {
  return new Html(MADE_HERE, parts.map(String).join(separator))
}
