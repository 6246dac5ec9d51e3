/**
 * The fields of the deployment file's JSON Schema (json-schema.ts), as rows for its reference (reference.ts): each
 * with its path, type, whether it is required, its default, the values it allows, its description and examples.
 * Read from the JSON Schema rather than from zod so that the reference says what editors are told, and nothing
 * the schema does not.
 */
export type Json = Record<string, unknown>;

/** One variant of an object: a form of a union, named by its discriminator (`method: static`). */
interface Variant {
  node: Json;
  label?: string;
}

export interface FieldRow {
  /** `controllers[].port`; inside a $defs entry, relative to it (`network.address`). */
  path: string;
  key: string;
  type: string;
  /** `yes`, `no`, or for a field of some forms of a union only: `with method: static`. */
  required: string;
  /** The variants of a union that have this field, when not all do. */
  only?: string[];
  default?: unknown;
  allowed: string[];
  description?: string;
  examples: unknown[];
  /** The $defs entry this field refers to (`VmSpec`, `VmContext`), documented in a section of its own. */
  ref?: string;
  /** The forms of a union field, each with its own description and examples. */
  forms?: Form[];
}

export interface Form {
  type: string;
  allowed: string[];
  description?: string;
  examples: unknown[];
  ref?: string;
}

export class SchemaReader {
  constructor(private readonly root: Json) {}

  /** The schema behind a `$ref` (`#/$defs/Name`), with the name; any other node as it is. */
  resolve(node: Json): { node: Json; ref?: string } {
    const ref = node['$ref'];
    if (typeof ref !== 'string') return { node };
    const name = ref.replace(/^#\/\$defs\//, '');
    const target = (this.root['$defs'] as Record<string, Json> | undefined)?.[name];
    if (target === undefined) throw new Error(`the JSON Schema has no $defs entry ${name} (${ref})`);
    return { node: target, ref: name };
  }

  def(name: string): Json {
    return this.resolve({ $ref: `#/$defs/${name}` }).node;
  }

  /**
   * The rows of an object's fields and, depth first, of its objects' and lists' fields. With `stopAtRefs`, a field
   * that refers to a $defs entry is one row (its entry has a section of its own).
   */
  rows(node: Json, prefix = '', stopAtRefs = true): FieldRow[] {
    return this.variantRows(this.objectVariants(node), prefix, stopAtRefs);
  }

  private variantRows(variants: Variant[], prefix: string, stopAtRefs: boolean): FieldRow[] {
    const out: FieldRow[] = [];
    for (const key of unique(variants.flatMap((v) => Object.keys(properties(v.node))))) {
      const having = variants.filter((v) => properties(v.node)[key] !== undefined);
      const resolved = having.map((v) => ({ variant: v, ...this.resolve(properties(v.node)[key]!) }));
      const first = resolved[0]!;
      const path = `${prefix}${key}`;
      const partial = having.length < variants.length;
      const requiredIn = having.filter((v) => requiredOf(v.node).includes(key));
      out.push({
        path,
        key,
        type: typeText(mergedNode(resolved.map((r) => r.node))),
        required: requiredIn.length === 0 ? 'no' : requiredIn.length === variants.length ? 'yes' : `with ${requiredIn.map((v) => v.label).join(', ')}`,
        ...(partial ? { only: having.map((v) => v.label ?? '?') } : {}),
        ...('default' in first.node ? { default: first.node['default'] } : {}),
        allowed: allowedText(mergedNode(resolved.map((r) => r.node))),
        ...(typeof first.node['description'] === 'string' ? { description: first.node['description'] } : {}),
        examples: Array.isArray(first.node['examples']) ? first.node['examples'] : [],
        ...(first.ref === undefined ? {} : { ref: first.ref }),
        ...this.forms(first.node),
      });
      if (first.ref !== undefined && stopAtRefs) continue;
      out.push(...this.childRows(resolved.map((r) => ({ node: r.node, ...(r.variant.label === undefined ? {} : { label: r.variant.label }) })), path, stopAtRefs));
    }
    return out;
  }

  /**
   * The rows under a field: its object's fields (`a.b`), or its list's items' (`a[].b`). An object inside a form of
   * a union is named by that form (`source.bridge`: with type: bridge).
   */
  private childRows(parents: Variant[], path: string, stopAtRefs: boolean): FieldRow[] {
    const inherit = (label: string | undefined) => (v: Variant) => (v.label !== undefined || label === undefined ? v : { ...v, label });
    const items = parents.filter((p) => isJson(p.node['items']));
    if (items.length > 0) {
      const variants = items.flatMap((p) => this.objectVariants(this.resolve(p.node['items'] as Json).node).map(inherit(p.label)));
      return this.variantRows(variants, `${path}[].`, stopAtRefs);
    }
    return this.variantRows(
      parents.flatMap((p) => this.objectVariants(p.node).map(inherit(p.label))),
      `${path}.`,
      stopAtRefs,
    );
  }

  /** The object forms of a node: itself, or each object of its union, named by the field whose value is fixed. */
  objectVariants(node: Json): Variant[] {
    // An object with a oneOf of `required` sets (an image's path, or url and sha256) is one object.
    if (isObjectNode(node)) return [{ node }];
    const union = unionOf(node);
    if (union === undefined) return [];
    return union
      .map((n) => this.resolve(n).node)
      .filter(isObjectNode)
      .map((n) => {
        const fixed = Object.entries(properties(n)).find(([, p]) => 'const' in p);
        return fixed === undefined ? { node: n } : { node: n, label: `${fixed[0]}: ${String(fixed[1]['const'])}` };
      });
  }

  /** A field that may take several forms (a path or an object), each shown on its own. */
  private forms(node: Json): { forms?: Form[] } {
    const union = unionOf(node);
    if (union === undefined || union.every((n) => isObjectNode(this.resolve(n).node))) return {};
    return {
      forms: union.map((n) => {
        const r = this.resolve(n);
        return {
          type: isObjectNode(r.node) ? 'object' : typeText(r.node),
          allowed: isObjectNode(r.node) ? [] : allowedText(r.node),
          ...(typeof r.node['description'] === 'string' ? { description: r.node['description'] } : {}),
          examples: Array.isArray(r.node['examples']) ? r.node['examples'] : [],
          ...(r.ref === undefined ? {} : { ref: r.ref }),
        };
      }),
    };
  }
}

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function properties(node: Json): Record<string, Json> {
  return isJson(node['properties']) ? (node['properties'] as Record<string, Json>) : {};
}

function requiredOf(node: Json): string[] {
  return Array.isArray(node['required']) ? (node['required'] as string[]) : [];
}

function unionOf(node: Json): Json[] | undefined {
  const union = node['oneOf'] ?? node['anyOf'];
  return Array.isArray(union) ? union.filter(isJson) : undefined;
}

function isObjectNode(node: Json): boolean {
  return node['type'] === 'object' || isJson(node['properties']);
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/** One field's schemas across the forms of a union: the same, or their fixed values as one enum. */
function mergedNode(nodes: Json[]): Json {
  if (nodes.length > 1 && nodes.every((n) => 'const' in n)) return { type: nodes[0]!['type'], enum: unique(nodes.map((n) => n['const'])) };
  return nodes[0]!;
}

export function typeText(node: Json): string {
  if (isObjectNode(node)) return 'object';
  const union = unionOf(node);
  if (union !== undefined) return unique(union.map(typeText)).join(' or ');
  if (node['type'] === 'array') return isJson(node['items']) ? `list of ${plural(typeText(node['items']))}` : 'list';
  if (isObjectNode(node)) return 'object';
  if (typeof node['type'] === 'string') return node['type'];
  if ('const' in node) return typeof node['const'];
  return 'any';
}

function plural(type: string): string {
  return type.split(' or ').map((t) => (t === 'any' ? t : `${t}s`)).join(' or ');
}

/** What a value may be, beyond its type: fixed values, ranges, lengths, patterns; a list's items' too. */
export function allowedText(node: Json): string[] {
  const out: string[] = [];
  const union = isObjectNode(node) ? undefined : unionOf(node);
  if (union !== undefined && union.every((n) => !isObjectNode(n))) {
    const each = union.map((n) => allowedText(n).join(', ') || typeText(n));
    if (each.some((text, i) => text !== typeText(union[i]!))) out.push(each.join(', or '));
  }
  if ('const' in node) out.push(code(node['const']));
  if (Array.isArray(node['enum'])) out.push(node['enum'].map(code).join(', '));
  const range = rangeText(node['minimum'], node['maximum'], '');
  if (range) out.push(range);
  if (node['minLength'] === 1 && node['maxLength'] === undefined) out.push('not empty');
  else if (node['minLength'] !== undefined || node['maxLength'] !== undefined) out.push(rangeText(node['minLength'], node['maxLength'], ' characters')!);
  if (typeof node['pattern'] === 'string') out.push(`matches ${code(node['pattern'])}`);
  if (node['minItems'] !== undefined || node['maxItems'] !== undefined) out.push(rangeText(node['minItems'], node['maxItems'], ' items')!);
  if (isJson(node['items'])) {
    const items = allowedText(node['items']);
    if (items.length > 0) out.push(`each: ${items.join('; ')}`);
  }
  return out;
}

/** `1 to 256 items`, `at least 1 item`, `68 to 65535` (`unit` is plural, with its space). */
function rangeText(min: unknown, max: unknown, unit: string): string | undefined {
  const of = (n: number) => (n === 1 ? unit.replace(/s$/, '') : unit);
  if (typeof min === 'number' && typeof max === 'number') return `${min} to ${max}${unit}`;
  if (typeof min === 'number') return `at least ${min}${of(min)}`;
  if (typeof max === 'number') return `at most ${max}${of(max)}`;
  return undefined;
}

/** A value as inline Markdown code; a backtick inside takes a longer fence. */
export function code(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${fence.length > 1 ? ' ' : ''}${text}${fence.length > 1 ? ' ' : ''}${fence}`;
}
