/**
 * The one XML representation of this package: an ordered tree (elements, their attributes in document order,
 * text), read by `parseXml` and written by `serializeXml`, for native templates (a template we only rewrite in
 * a few places comes out as it went in everywhere else) and for rendered specs alike.
 *
 * The reader is our own and small on purpose: domain XML is plain XML 1.0 without a DTD, so it needs no
 * entity expansion, no external resources and no validation, and a reader that cannot do those has nothing to
 * switch off against XXE or "billion laughs". What it reads (XML 1.0, https://www.w3.org/TR/xml/):
 * - elements and attributes (2.3 Name, 3.1), kept in order; names keep their prefix (`xmlns:qemu`,
 *   `qemu:commandline`) and `xmlns` declarations stay attributes, which is all libvirt's namespaced elements
 *   (metadata, qemu:commandline) need to come back as they were;
 * - the five predefined entities and character references (4.1, 4.6), CDATA sections (2.7) as text;
 * - line ends read as LF (2.11) and white space in attribute values read as spaces (3.3.3), as libxml2 does;
 * - comments, processing instructions and the XML declaration are read and dropped, as libvirt drops them when
 *   it stores a definition.
 * A DOCTYPE is refused (TEMPLATE_FORBIDDEN_DTD): domain XML never needs one, and its entity declarations are
 * how an XML bomb expands a few hundred bytes into gigabytes, or an external entity reads a host file.
 */
import { TemplateError } from './errors.js';

export interface XmlElement {
  kind: 'element';
  name: string;
  /** In document order; names keep their prefix (`xmlns:foo`, `foo:bar`). */
  attrs: [string, string][];
  children: XmlNode[];
}
export interface XmlText {
  kind: 'text';
  text: string;
}
export type XmlNode = XmlElement | XmlText;

/** virsh define reads at most this much (libvirt tools/vsh.h VSH_MAX_XML_FILE, 10 MiB); so do we. */
export const MAX_TEMPLATE_BYTES = 10 * 1024 * 1024;
/**
 * Real domain XML has a few hundred elements; 10 MiB of `<a/>` would be 2.6 million objects. Past this count
 * the document is refused as it is read.
 */
export const MAX_TEMPLATE_ELEMENTS = 100_000;
/** Real domain XML nests about 6 deep; a deeper document is an attack or a mistake, not a template. */
export const MAX_TEMPLATE_DEPTH = 128;

// XML 1.0 section 2.2 Char: what may appear in a document at all (even as a character reference).
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

/** The first character that XML 1.0 cannot carry, or undefined. */
export function firstNonXmlChar(text: string): string | undefined {
  return NOT_XML_CHAR.exec(text)?.[0];
}

function describeChar(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

// XML 1.0 section 2.3: NameStartChar, and NameChar (NameStartChar plus these).
const NAME_START = ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME = new RegExp(`[${NAME_START}][${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F\\u2040]*`, 'uy');
/** XML 1.0 sections 4.1 and 4.6: a character reference or one of the five predefined entities; nothing else without a DTD. */
const REFERENCE = /&(#[0-9]+|#x[0-9a-fA-F]+|[^\s&;<]*)(;?)/g;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

/** Parses `text` into a tree. `source` names the input in error messages (a file name, or "template"). */
export function parseXml(text: string, source = 'template'): XmlElement {
  // Length in UTF-16 units is at most the UTF-8 length, so the cheap test first.
  if (text.length > MAX_TEMPLATE_BYTES || Buffer.byteLength(text, 'utf8') > MAX_TEMPLATE_BYTES) {
    const mib = (Buffer.byteLength(text, 'utf8') / 1024 / 1024).toFixed(1);
    throw new TemplateError(
      'TEMPLATE_TOO_LARGE',
      `${source} is ${mib} MiB; virsh define reads at most ${MAX_TEMPLATE_BYTES / 1024 / 1024} MiB of domain XML`,
    );
  }
  if (text.trim() === '') throw new TemplateError('TEMPLATE_MALFORMED_XML', `${source} is empty`);
  // XML 1.0 section 2.11: CR LF and a lone CR are read as LF.
  return new XmlReader(text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n'), source).document();
}

/** A recursive-descent reader of one document; `pos` is where it is in `text`. */
class XmlReader {
  private pos = 0;
  private elementCount = 0;

  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  document(): XmlElement {
    this.misc();
    if (this.pos >= this.text.length) this.fail('no root element');
    if (this.text[this.pos] !== '<') this.fail('text before the root element');
    const root = this.element(1, '');
    this.misc();
    if (this.pos < this.text.length) this.fail(this.text[this.pos] === '<' ? 'a second root element' : 'text after the root element');
    return root;
  }

  /** Section 2.8 Misc: white space, comments and processing instructions around the root element. */
  private misc(): void {
    for (;;) {
      this.skipSpace();
      if (this.at('<!--')) this.comment();
      else if (this.at('<?')) this.instruction();
      else if (this.at('<!DOCTYPE')) this.doctype();
      else return;
    }
  }

  private element(depth: number, parentPath: string): XmlElement {
    this.pos += 1; // '<'
    const name = this.name('an element name');
    const path = `${parentPath}/${name}`;
    if (++this.elementCount > MAX_TEMPLATE_ELEMENTS) {
      throw new TemplateError('TEMPLATE_TOO_LARGE', `${this.source} has more than ${MAX_TEMPLATE_ELEMENTS} elements; a domain XML has a few hundred`);
    }
    if (depth > MAX_TEMPLATE_DEPTH) {
      throw new TemplateError('TEMPLATE_MALFORMED_XML', `${this.source} nests elements deeper than ${MAX_TEMPLATE_DEPTH} at ${path}`, path);
    }
    const el = newElement(name, this.attributes(path));
    if (this.at('/>')) {
      this.pos += 2;
      return el;
    }
    this.pos += 1; // '>'
    this.content(el, depth, path);
    const end = this.pos;
    this.pos += 2; // '</'
    const closing = this.name('an end tag name');
    if (closing !== name) this.fail(`</${closing}> where </${name}> was expected`, end);
    this.skipSpace();
    this.expect('>', `'>' to end </${name}>`);
    return el;
  }

  /** Section 3.1: attributes up to '>' or '/>' (left for the caller), each name once, values normalized (3.3.3). */
  private attributes(path: string): [string, string][] {
    const attrs: [string, string][] = [];
    const seen = new Set<string>();
    for (;;) {
      const spaced = this.skipSpace();
      if (this.at('>') || this.at('/>')) return attrs;
      if (!spaced) this.fail("expected white space, '>' or '/>' after the element name or an attribute");
      const key = this.name('an attribute name');
      if (seen.has(key)) this.fail(`attribute ${key} appears twice in <${path.slice(path.lastIndexOf('/') + 1)}>`);
      seen.add(key);
      this.skipSpace();
      this.expect('=', `'=' after attribute ${key}`);
      this.skipSpace();
      const quote = this.text[this.pos];
      if (quote !== '"' && quote !== "'") this.fail(`the value of attribute ${key} is not quoted`);
      const start = this.pos + 1;
      const end = this.text.indexOf(quote, start);
      if (end < 0) this.fail(`the value of attribute ${key} is not closed`);
      const raw = this.text.slice(start, end);
      const lt = raw.indexOf('<');
      if (lt >= 0) this.fail(`'<' in the value of attribute ${key} (write &lt;)`, start + lt);
      // Literal white space becomes a space; a character reference (&#10;) keeps its character.
      const value = this.decode(raw.replace(/[\t\n]/g, ' '), start);
      checkChars(value, this.source, `${path}/@${key}`);
      attrs.push([key, value]);
      this.pos = end + 1;
    }
  }

  /** Section 3.1 content: text, CDATA, child elements, comments and instructions, up to the end tag ('</', left for the caller). */
  private content(el: XmlElement, depth: number, path: string): void {
    let run = '';
    const flush = (): void => {
      if (run === '') return;
      checkChars(run, this.source, path);
      el.children.push({ kind: 'text', text: run });
      run = '';
    };
    for (;;) {
      const lt = this.text.indexOf('<', this.pos);
      if (lt < 0) this.fail(`<${el.name}> is not closed`, this.text.length);
      if (lt > this.pos) {
        const raw = this.text.slice(this.pos, lt);
        const cdataEnd = raw.indexOf(']]>');
        if (cdataEnd >= 0) this.fail("']]>' in text (write ]]&gt;)", this.pos + cdataEnd);
        run += this.decode(raw, this.pos);
        this.pos = lt;
      }
      if (this.at('</')) break;
      if (this.at('<![CDATA[')) {
        this.pos += 9;
        run += this.until(']]>', 'a CDATA section');
      } else if (this.at('<!--')) {
        this.comment();
      } else if (this.at('<?')) {
        this.instruction();
      } else if (this.at('<!DOCTYPE')) {
        this.doctype();
      } else if (this.at('<!')) {
        this.fail('a markup declaration outside a DTD');
      } else {
        flush();
        el.children.push(this.element(depth + 1, path));
      }
    }
    flush();
  }

  /** Section 2.5: read and dropped; '--' may not appear inside. */
  private comment(): void {
    const start = this.pos;
    this.pos += 4;
    const body = this.until('-->', 'a comment');
    if (body.includes('--') || body.endsWith('-')) this.fail("'--' inside a comment", start);
    checkChars(body, this.source, 'a comment');
  }

  /** Section 2.6 (and 2.8 for the XML declaration, allowed only at the very start): read and dropped. */
  private instruction(): void {
    const start = this.pos;
    this.pos += 2;
    const target = this.name('a processing instruction target');
    if (target.toLowerCase() === 'xml' && (start !== 0 || target !== 'xml')) this.fail('an XML declaration is allowed only at the very start', start);
    if (!this.at('?>') && !this.skipSpace()) this.fail(`expected white space or '?>' after <?${target}`);
    checkChars(this.until('?>', 'a processing instruction'), this.source, 'a processing instruction');
  }

  private doctype(): never {
    throw new TemplateError(
      'TEMPLATE_FORBIDDEN_DTD',
      `${this.source} has a <!DOCTYPE>; domain XML never needs one and its entities could expand without bound (XML bomb), so it is refused`,
    );
  }

  /** `raw` (found at `offset`) with its references replaced by what they stand for. */
  private decode(raw: string, offset: number): string {
    if (!raw.includes('&')) return raw;
    return raw.replace(REFERENCE, (whole, ref: string, semicolon: string, at: number) => {
      if (semicolon !== ';') this.fail(`'&' that does not start a reference (write &amp;)`, offset + at);
      if (ref.startsWith('#')) {
        const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        const ch = code <= 0x10ffff ? String.fromCodePoint(code) : undefined;
        if (ch === undefined || firstNonXmlChar(ch) !== undefined) this.fail(`${whole} is not a character XML 1.0 allows`, offset + at);
        return ch;
      }
      const value = PREDEFINED[ref];
      if (value === undefined) this.fail(`undefined entity ${whole} (domain XML has no DTD to define one)`, offset + at);
      return value;
    });
  }

  private at(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }

  /** Skips section 2.3's S (CR is already LF); true when there was any. */
  private skipSpace(): boolean {
    const start = this.pos;
    while (this.pos < this.text.length && ' \t\n'.includes(this.text[this.pos]!)) this.pos += 1;
    return this.pos > start;
  }

  private expect(s: string, what: string): void {
    if (!this.at(s)) this.fail(`expected ${what}`);
    this.pos += s.length;
  }

  private name(what: string): string {
    NAME.lastIndex = this.pos;
    const match = NAME.exec(this.text);
    if (!match) this.fail(`expected ${what}`);
    this.pos = NAME.lastIndex;
    return match[0];
  }

  /** The text up to `end`, which is skipped too. */
  private until(end: string, what: string): string {
    const found = this.text.indexOf(end, this.pos);
    if (found < 0) this.fail(`${what} is not closed`);
    const body = this.text.slice(this.pos, found);
    this.pos = found + end.length;
    return body;
  }

  /** Refuses the document, saying where (line and column counted from 1, as editors and xmllint do). */
  private fail(what: string, at = this.pos): never {
    const before = this.text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    throw new TemplateError('TEMPLATE_MALFORMED_XML', `${this.source} is not well-formed XML: ${what} at line ${line}, column ${column}`);
  }
}

function checkChars(text: string, source: string, path: string): void {
  const bad = firstNonXmlChar(text);
  if (bad !== undefined) {
    throw new TemplateError('TEMPLATE_MALFORMED_XML', `${source} has character ${describeChar(bad)}, which XML 1.0 does not allow, at ${path}`, path);
  }
}

function escapeText(text: string): string {
  // '>' too, so that "]]>" never appears; '\r' as a reference, or a parser would turn it into '\n'.
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

function escapeAttr(text: string): string {
  // XML 1.0 section 3.3.3: a parser turns literal tab, newline and CR in attribute values into spaces.
  return escapeText(text).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

/**
 * Writes the tree as XML text; text and white space are written as they were read. A value XML 1.0 cannot
 * carry (a control character) is refused rather than written into a document no parser would read.
 */
export function serializeXml(root: XmlElement): string {
  const out: string[] = [];
  const write = (el: XmlElement, parentPath: string): void => {
    const path = `${parentPath}/${el.name}`;
    out.push('<', el.name);
    for (const [key, value] of el.attrs) out.push(' ', key, '="', escapeAttr(writable(value, `${path}/@${key}`)), '"');
    if (el.children.length === 0) {
      out.push('/>');
      return;
    }
    out.push('>');
    for (const child of el.children) {
      if (child.kind === 'text') out.push(escapeText(writable(child.text, path)));
      else write(child, path);
    }
    out.push('</', el.name, '>');
  };
  write(root, '');
  return `${out.join('')}\n`;
}

function writable(value: string, path: string): string {
  const bad = firstNonXmlChar(value);
  if (bad !== undefined) throw new TemplateError('TEMPLATE_MALFORMED_XML', `cannot write character ${describeChar(bad)} at ${path}: XML 1.0 does not allow it`, path);
  return value;
}

/**
 * A copy of `el` laid out as libvirt writes domain XML: each child element of an element without text on a
 * line of its own, indented `unit` a level; an element with text stays on one line (`<name>web1</name>`).
 */
export function indentXml(el: XmlElement, unit = '  ', depth = 0): XmlElement {
  if (el.children.length === 0 || el.children.some((c) => c.kind === 'text')) return el;
  const inner = `\n${unit.repeat(depth + 1)}`;
  const children = el.children.flatMap((c): XmlNode[] => [{ kind: 'text', text: inner }, indentXml(c as XmlElement, unit, depth + 1)]);
  return { ...el, children: [...children, { kind: 'text', text: `\n${unit.repeat(depth)}` }] };
}

// ---- small helpers to read and edit a tree ----

export function elements(el: XmlElement, name?: string): XmlElement[] {
  return el.children.filter((c): c is XmlElement => c.kind === 'element' && (name === undefined || c.name === name));
}

export function firstElement(el: XmlElement, name: string): XmlElement | undefined {
  return elements(el, name)[0];
}

export function getAttr(el: XmlElement, name: string): string | undefined {
  return el.attrs.find(([k]) => k === name)?.[1];
}

/** An attribute of the first child element named `child` (`childAttr(disk, 'target', 'dev')`), if both are there. */
export function childAttr(el: XmlElement, child: string, name: string): string | undefined {
  const found = firstElement(el, child);
  return found && getAttr(found, name);
}

/** Sets an attribute in place (keeping its position) or appends it. */
export function setAttr(el: XmlElement, name: string, value: string): void {
  const entry = el.attrs.find(([k]) => k === name);
  if (entry) entry[1] = value;
  else el.attrs.push([name, value]);
}

export function removeAttr(el: XmlElement, name: string): void {
  el.attrs = el.attrs.filter(([k]) => k !== name);
}

/** The concatenated text directly inside `el`. */
export function textOf(el: XmlElement): string {
  return el.children.map((c) => (c.kind === 'text' ? c.text : '')).join('');
}

/** Replaces the content of `el` with one text node. */
export function setText(el: XmlElement, text: string): void {
  el.children = [{ kind: 'text', text }];
}

export function newElement(name: string, attrs: [string, string][] = [], children: XmlNode[] = []): XmlElement {
  return { kind: 'element', name, attrs, children };
}

/**
 * Inserts `child` into `parent` after `after` (or as the last element), indented like its siblings, so an
 * inserted element lines up with the others.
 */
export function insertElement(parent: XmlElement, child: XmlElement, after?: XmlElement): void {
  const isSpace = (n: XmlNode | undefined): n is XmlText => n?.kind === 'text' && /^\s+$/.test(n.text);
  // The white space before the first element child is the indentation this parent's children use.
  const firstElementIndex = parent.children.findIndex((c) => c.kind === 'element');
  const indentNode = parent.children[firstElementIndex - 1];
  const indent = isSpace(indentNode) ? indentNode.text : undefined;
  let index: number;
  if (after) {
    index = parent.children.indexOf(after) + 1;
  } else {
    index = parent.children.length;
    // Keep the closing tag's own indentation last.
    if (isSpace(parent.children[index - 1])) index -= 1;
  }
  if (indent !== undefined && (after || firstElementIndex >= 0)) parent.children.splice(index, 0, { kind: 'text', text: indent }, child);
  else parent.children.splice(index, 0, child);
}

/** Inserts `child` as the first element of `parent` (before any other element), indented like its siblings. */
export function insertElementFirst(parent: XmlElement, child: XmlElement): void {
  const first = parent.children.findIndex((c) => c.kind === 'element');
  if (first < 0) {
    insertElement(parent, child);
    return;
  }
  const before = parent.children[first - 1];
  if (before?.kind === 'text' && /^\s+$/.test(before.text)) parent.children.splice(first, 0, child, { kind: 'text', text: before.text });
  else parent.children.splice(first, 0, child);
}

/** The white space that indents the element children of `parent`, if the document is indented. */
export function childIndent(parent: XmlElement): string | undefined {
  const first = parent.children.findIndex((c) => c.kind === 'element');
  const before = parent.children[first - 1];
  return first > 0 && before?.kind === 'text' && /^\s+$/.test(before.text) ? before.text : undefined;
}

/** Removes `child` and the white space that indented it. */
export function removeElement(parent: XmlElement, child: XmlElement): void {
  const index = parent.children.indexOf(child);
  if (index < 0) return;
  const before = parent.children[index - 1];
  if (before?.kind === 'text' && /^\s+$/.test(before.text)) parent.children.splice(index - 1, 2);
  else parent.children.splice(index, 1);
}
