/**
 * A small ordered XML tree for native templates: xml2js reads the text (keeping element order, unknown
 * elements and attributes, and the white space between elements), and `serializeXml` writes it back, so a
 * template we only rewrite in a few places comes out as it went in everywhere else.
 *
 * Not kept: comments, processing instructions and the XML declaration (libvirt drops them too when it stores
 * a definition). A DOCTYPE is refused: domain XML never needs one, and its entity declarations are how an
 * "XML bomb" (billion laughs) expands a few hundred bytes into gigabytes.
 */
import xml2js from 'xml2js';
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
 * Real domain XML has a few hundred elements. xml2js keeps about 500 bytes per element, so 10 MiB of `<a/>`
 * would take over a gigabyte and seconds; past this count the document is refused as it is read.
 */
export const MAX_TEMPLATE_ELEMENTS = 100_000;
/** Real domain XML nests about 6 deep; a deeper document is an attack or a mistake, not a template. */
export const MAX_TEMPLATE_DEPTH = 128;

// Keys that cannot be XML names, so an element called `_` or `$` cannot collide with xml2js's own keys.
const ATTR_KEY = '$';
const CHILD_KEY = '$$';
const TEXT_KEY = '#text';
const TEXT_NODE = '__text__';

interface SaxParser {
  ondoctype: (doctype: string) => void;
  onopentag: (node: unknown) => void;
  onclosetag: (name: string) => void;
  write(text: string): SaxParser;
  close(): SaxParser;
}

interface Xml2jsNode {
  '#name': string;
  [ATTR_KEY]?: Record<string, string>;
  [CHILD_KEY]?: Xml2jsNode[];
  [TEXT_KEY]?: string;
}

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
  const parser = new xml2js.Parser({
    explicitChildren: true,
    preserveChildrenOrder: true,
    charsAsChildren: true,
    includeWhiteChars: true,
    explicitRoot: false,
    explicitArray: true,
    trim: false,
    normalize: false,
    strict: true,
    async: false,
    attrkey: ATTR_KEY,
    childkey: CHILD_KEY,
    charkey: TEXT_KEY,
  });
  if (text.trim() === '') throw new TemplateError('TEMPLATE_MALFORMED_XML', `${source} is empty`);
  // We drive xml2js's sax parser ourselves (parseString resets it at the first root's end, so whatever
  // follows the root would go unchecked), and watch it for a DOCTYPE and for a second root element.
  const sax = (parser as unknown as { saxParser: SaxParser }).saxParser;
  let doctype = false;
  let depth = 0;
  let roots = 0;
  sax.ondoctype = () => {
    // sax does not expand entities declared in a DTD (it fails on them), but we say why instead of "Invalid entity".
    doctype = true;
  };
  const onopentag = sax.onopentag.bind(sax);
  const onclosetag = sax.onclosetag.bind(sax);
  let count = 0;
  sax.onopentag = (node) => {
    if (++count > MAX_TEMPLATE_ELEMENTS) {
      throw new TemplateError('TEMPLATE_TOO_LARGE', `${source} has more than ${MAX_TEMPLATE_ELEMENTS} elements; a domain XML has a few hundred`);
    }
    if (depth === 0) roots += 1;
    depth += 1;
    onopentag(node);
  };
  sax.onclosetag = (name) => {
    depth -= 1;
    onclosetag(name);
  };
  let root: Xml2jsNode | undefined;
  let failure: Error | undefined;
  parser.on('end', (result: Xml2jsNode) => {
    root ??= result;
  });
  parser.on('error', (error: Error) => {
    failure ??= error;
  });
  try {
    // XML 1.0 section 2.11: a parser reads CR LF and lone CR as LF (sax does not), so a template saved with
    // Windows line ends does not come back with &#13; everywhere.
    sax.write(text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n')).close();
  } catch (error) {
    if (error instanceof TemplateError) throw error;
    failure ??= error as Error;
  }
  if (doctype) {
    throw new TemplateError(
      'TEMPLATE_FORBIDDEN_DTD',
      `${source} has a <!DOCTYPE>; domain XML never needs one and its entities could expand without bound (XML bomb), so it is refused`,
    );
  }
  if (failure) {
    const where = failure.message.replace(/\s+/g, ' ').trim();
    throw new TemplateError('TEMPLATE_MALFORMED_XML', `${source} is not well-formed XML: ${where}`);
  }
  if (roots > 1) throw new TemplateError('TEMPLATE_MALFORMED_XML', `${source} is not well-formed XML: it has ${roots} root elements`);
  if (!root) throw new TemplateError('TEMPLATE_MALFORMED_XML', `${source} is not well-formed XML: no root element`);
  return toTree(root, 1, source, '');
}

function toTree(node: Xml2jsNode, depth: number, source: string, parentPath: string): XmlElement {
  const name = node['#name'];
  const path = `${parentPath}/${name}`;
  if (depth > MAX_TEMPLATE_DEPTH) {
    throw new TemplateError('TEMPLATE_MALFORMED_XML', `${source} nests elements deeper than ${MAX_TEMPLATE_DEPTH} at ${path}`, path);
  }
  const attrs = Object.entries(node[ATTR_KEY] ?? {});
  for (const [key, value] of attrs) checkChars(value, source, `${path}/@${key}`);
  const children: XmlNode[] = [];
  for (const child of node[CHILD_KEY] ?? []) {
    if (child['#name'] === TEXT_NODE && !(ATTR_KEY in child) && !(CHILD_KEY in child)) {
      const t = child[TEXT_KEY] ?? '';
      checkChars(t, source, path);
      const last = children[children.length - 1];
      // sax reports a text run in pieces (around entities and CDATA); one node per run keeps edits simple.
      if (last?.kind === 'text') last.text += t;
      else children.push({ kind: 'text', text: t });
    } else {
      children.push(toTree(child, depth + 1, source, path));
    }
  }
  return { kind: 'element', name, attrs, children };
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

/** Writes the tree back; text and white space are written as they were read. */
export function serializeXml(root: XmlElement): string {
  const out: string[] = [];
  const write = (el: XmlElement): void => {
    out.push('<', el.name);
    for (const [key, value] of el.attrs) out.push(' ', key, '="', escapeAttr(value), '"');
    if (el.children.length === 0) {
      out.push('/>');
      return;
    }
    out.push('>');
    for (const child of el.children) {
      if (child.kind === 'text') out.push(escapeText(child.text));
      else write(child);
    }
    out.push('</', el.name, '>');
  };
  write(root);
  return `${out.join('')}\n`;
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
