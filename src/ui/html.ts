/** Escapes text for HTML and SVG (text and attribute values). Example: `escapeHtml('<a & "b">')` -> `&lt;a &amp; &quot;b&quot;&gt;`. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] as string);
}

const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * JSON for an inline `<script>`: `<`, `>`, `&` and the JS line separators are escaped so no value can
 * close the script element. Example: `jsonForScript({ a: '</script>' })` -> `{"a":"\u003c/script\u003e"}`.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
