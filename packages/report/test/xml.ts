/** A minimal well-formedness check for the SVG we write: balanced tags, quoted attributes, escaped text. */
export function xmlProblem(doc: string): string | null {
  let s = doc.replace(/^<\?xml[^?]*\?>\s*/, '');
  s = s.replace(/<!--[\s\S]*?-->/g, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
  let i = 0;
  let roots = 0;
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const textPart = s.slice(i, lt < 0 ? s.length : lt);
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(textPart)) return `unescaped & in text near ${JSON.stringify(textPart.slice(0, 40))}`;
    if (/>/.test(textPart) && stack.length === 0 && textPart.trim() !== '') return 'text outside the root element';
    if (stack.length === 0 && textPart.trim() !== '') return 'text outside the root element';
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(s);
    if (!m) return `malformed tag at ${lt}: ${JSON.stringify(s.slice(lt, lt + 60))}`;
    const [, close, name, attrs, self] = m;
    const names = [...attrs.matchAll(/([\w:.-]+)\s*=/g)].map((a) => a[1]);
    if (new Set(names).size !== names.length) return `duplicate attribute in <${name}>`;
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(attrs)) return `unescaped & in attribute of <${name}>`;
    if (close) {
      const open = stack.pop();
      if (open !== name) return `</${name}> closes <${open ?? 'nothing'}>`;
    } else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
    i = tag.lastIndex;
  }
  if (stack.length) return `unclosed <${stack.join('><')}>`;
  if (roots !== 1) return `expected one root element, found ${roots}`;
  return null;
}
