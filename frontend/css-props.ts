/**
 * `${cssProps({ background: color })}` on an element sets inline style properties through the
 * CSSOM (`style.setProperty`). The CSP (`style-src 'self'`) refuses style="" attributes, and Lit's
 * styleMap writes the attribute on first render, so computed styles go through this instead.
 * Properties are set, never removed: use it for values that change, not for ones that come and go.
 */
import { noChange } from 'lit'
import { Directive, PartType, directive, type ElementPart, type PartInfo } from 'lit/directive.js'

class CssProps extends Directive {
  constructor(info: PartInfo) {
    super(info)
    if (info.type !== PartType.ELEMENT) throw new Error('cssProps belongs on an element: <span ${cssProps({...})}>')
  }

  render(_props: Record<string, string>) {
    return noChange
  }

  override update(part: ElementPart, [props]: [Record<string, string>]) {
    const style = (part.element as HTMLElement).style
    for (const [name, value] of Object.entries(props)) style.setProperty(name, value)
    return noChange
  }
}

export const cssProps = directive(CssProps)
