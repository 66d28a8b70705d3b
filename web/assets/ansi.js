// ANSI SGR parsing for log lines. Output is untrusted: the parser only produces text plus a
// style; the renderer puts the text in textContent and the style in classes (16 colours,
// bold, ...) or CSSOM properties (256 and 24-bit colours). Nothing is ever parsed as HTML.

// A style is a frozen object shared by every segment that uses it.
export const PLAIN = Object.freeze({
  fg: null, bg: null, bold: false, dim: false, italic: false, underline: false,
  inverse: false, strike: false,
});

// CSI sequences (SGR and cursor moves), OSC sequences (titles, hyperlinks), other escapes.
const ESCAPE_RE =
    /\x1b\[([0-9;:?]*)([ -/]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?/g;

function withChange(style, change) {
  return Object.freeze({...style, ...change});
}

// Applies one SGR parameter list ("1;31", "38;5;208", "38:2:1:2:3") to style.
export function applySgr(style, paramText) {
  const params = paramText === '' ? [0] : paramText.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  let s = style;
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === 0) s = PLAIN;
    else if (p === 1) s = withChange(s, {bold: true});
    else if (p === 2) s = withChange(s, {dim: true});
    else if (p === 3) s = withChange(s, {italic: true});
    else if (p === 4) s = withChange(s, {underline: true});
    else if (p === 7) s = withChange(s, {inverse: true});
    else if (p === 9) s = withChange(s, {strike: true});
    else if (p === 21 || p === 22) s = withChange(s, {bold: false, dim: false});
    else if (p === 23) s = withChange(s, {italic: false});
    else if (p === 24) s = withChange(s, {underline: false});
    else if (p === 27) s = withChange(s, {inverse: false});
    else if (p === 29) s = withChange(s, {strike: false});
    else if (p >= 30 && p <= 37) s = withChange(s, {fg: p - 30});
    else if (p === 39) s = withChange(s, {fg: null});
    else if (p >= 40 && p <= 47) s = withChange(s, {bg: p - 40});
    else if (p === 49) s = withChange(s, {bg: null});
    else if (p >= 90 && p <= 97) s = withChange(s, {fg: p - 90 + 8});
    else if (p >= 100 && p <= 107) s = withChange(s, {bg: p - 100 + 8});
    else if (p === 38 || p === 48) {
      const key = p === 38 ? 'fg' : 'bg';
      const mode = params[i + 1];
      if (mode === 5 && i + 2 < params.length) {
        const n = params[i + 2];
        if (n >= 0 && n <= 255) s = withChange(s, {[key]: n});
        i += 2;
      } else if (mode === 2 && i + 4 < params.length) {
        const [r, g, b] = params.slice(i + 2, i + 5).map((v) => Math.max(0, Math.min(255, v | 0)));
        s = withChange(s, {[key]: `rgb(${r}, ${g}, ${b})`});
        i += 4;
      } else {
        i = params.length;  // malformed: ignore the rest
      }
    }
  }
  return s;
}

// Splits one line into [{text, style}] starting from style `start`. Returns {segments, end}.
// Escape sequences other than SGR are removed; a carriage return drops what came before it
// on the line (progress bars), as a terminal would show it.
export function parseLine(text, start = PLAIN) {
  const segments = [];
  let style = start;
  if (text.indexOf('\x1b') === -1 && text.indexOf('\r') === -1) {
    if (text) segments.push({text, style});
    return {segments, end: style};
  }
  const pushText = (chunk) => {
    if (!chunk) return;
    let rest = chunk;
    let cr = rest.indexOf('\r');
    while (cr !== -1) {
      if (cr < rest.length - 1) segments.length = 0;  // a trailing CR changes nothing
      rest = rest.slice(cr + 1);
      cr = rest.indexOf('\r');
    }
    if (!rest) return;
    const last = segments[segments.length - 1];
    if (last && last.style === style) last.text += rest;
    else segments.push({text: rest, style});
  };
  ESCAPE_RE.lastIndex = 0;
  let pos = 0;
  let m;
  while ((m = ESCAPE_RE.exec(text)) !== null) {
    pushText(text.slice(pos, m.index));
    pos = ESCAPE_RE.lastIndex;
    if (m[3] === 'm' && !m[2] && !(m[1] || '').includes('?')) style = applySgr(style, m[1]);
    if (m[0].length === 0) ESCAPE_RE.lastIndex++;
  }
  pushText(text.slice(pos));
  return {segments, end: style};
}

// The end style of a line without building segments (used while ingesting many lines).
export function endStyle(text, start = PLAIN) {
  if (text.indexOf('\x1b') === -1) return start;
  let style = start;
  ESCAPE_RE.lastIndex = 0;
  let m;
  while ((m = ESCAPE_RE.exec(text)) !== null) {
    if (m[3] === 'm' && !m[2] && !(m[1] || '').includes('?')) style = applySgr(style, m[1]);
    if (m[0].length === 0) ESCAPE_RE.lastIndex++;
  }
  return style;
}

// Text without escape sequences (for search and download).
export function stripAnsi(text) {
  if (text.indexOf('\x1b') === -1 && text.indexOf('\r') === -1) return text;
  return parseLine(text).segments.map((s) => s.text).join('');
}

const CUBE = [0, 95, 135, 175, 215, 255];

// The CSS colour of xterm palette entry n (16–255; 0–15 are themed CSS classes).
export function xterm256(n) {
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v}, ${v}, ${v})`;
  }
  const i = n - 16;
  return `rgb(${CUBE[Math.floor(i / 36)]}, ${CUBE[Math.floor(i / 6) % 6]}, ${CUBE[i % 6]})`;
}

// Applies a style to a span: classes for the 16 themed colours and attributes, CSSOM
// properties (allowed by a CSP without 'unsafe-inline') for other colours.
export function styleSpan(span, style) {
  let fg = style.fg;
  let bg = style.bg;
  const classes = [];
  if (style.inverse) {
    [fg, bg] = [bg, fg];
    if (fg === null) classes.push('ansi-inv-fg');
    if (bg === null) classes.push('ansi-inv-bg');
  }
  if (typeof fg === 'number') {
    if (fg < 16) classes.push(`ansi-fg-${fg}`);
    else span.style.color = xterm256(fg);
  } else if (typeof fg === 'string') {
    span.style.color = fg;
  }
  if (typeof bg === 'number') {
    if (bg < 16) classes.push(`ansi-bg-${bg}`);
    else span.style.backgroundColor = xterm256(bg);
  } else if (typeof bg === 'string') {
    span.style.backgroundColor = bg;
  }
  if (style.bold) classes.push('ansi-bold');
  if (style.dim) classes.push('ansi-dim');
  if (style.italic) classes.push('ansi-italic');
  if (style.underline) classes.push('ansi-underline');
  if (style.strike) classes.push('ansi-strike');
  if (classes.length) span.className = classes.join(' ');
}
