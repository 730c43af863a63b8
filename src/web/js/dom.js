// Small DOM helpers. Text from the server only ever becomes text nodes:
// a token name is never parsed as HTML.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// el('tr', {class: 'x', onclick: fn}, child, 'text', [more]) builds a node.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else if (v !== false && v != null) node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c == null) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

// "in 7 days", "3 minutes ago": how far iso is from now.
export function relative(iso) {
  const diff = (new Date(iso).getTime() - Date.now()) / 1000;
  const units = [['year', 31536000], ['month', 2592000], ['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [unit, secs] of units) {
    if (Math.abs(diff) >= secs) return rtf.format(Math.round(diff / secs), unit);
  }
  return rtf.format(Math.round(diff), 'second');
}

// A time as "in 7 days", with the exact local time (and UTC) on hover.
export function when(iso) {
  const local = new Date(iso).toLocaleString();
  return el('time', { datetime: iso, title: `${local} (${iso} UTC)` }, relative(iso));
}

// A time as the exact local time, UTC on hover.
export function localTime(iso) {
  return el('time', { datetime: iso, title: `${iso} (UTC)` }, new Date(iso).toLocaleString());
}
