/**
 * The context one VM (or, in IP-from-MAC mode, many VMs) receives on its CD, as a zod schema.
 *
 * Every value that ends up in a file the guest reads is checked here against a strict pattern, so that what
 * reaches the guest is plain data: names are restricted to the characters their system accepts, free text
 * (SSH key comments, file contents, scripts) is carried as file contents and never pasted into shell code.
 * The YAML form is the same shape (see README.md).
 */
import { inSubnet, isIpv4, networkAddress } from '@vmctx/contract';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { MAX_CONTENT_BYTES } from './context-limits.js';
import { checkContextText } from './context-size.js';
import { GuestScriptError } from './errors.js';

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 63 bytes a label, 253 in all. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** Linux interface names: at most IFNAMSIZ-1 = 15 bytes, no '/', no white space; we also refuse ':' and quotes. */
const INTERFACE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
/** useradd's default NAME_REGEX (Debian's adduser is stricter still). */
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const MAC = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;
const MAC_PREFIX = /^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}$/;
/** A path component made of portable file name characters (POSIX 3.282) plus '@' and '+'. */
const PATH_COMPONENT = /^[A-Za-z0-9._@+-]{1,255}$/;
const SCRIPT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/;
/** One authorized_keys line: optional options, then a key type and base64 key material, then any comment. */
const SSH_KEY = /(?:^|\s)(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp(?:256|384|521)|sk-[a-z0-9@.-]+)\s+[A-Za-z0-9+/]+={0,3}(?:\s|$)/;

const Ipv4 = z.string().refine(isIpv4, { message: 'expected a dotted-quad IPv4 address such as 198.51.100.10' });
const HostName = z.string().regex(HOST_NAME, { message: 'expected a host name: letters, digits, inner hyphens and dots, at most 253 characters' });
const Cidr = z.string().refine(
  (value) => {
    const [ip, prefix, extra] = value.split('/');
    return extra === undefined && ip !== undefined && isIpv4(ip) && prefix !== undefined && /^(?:[0-9]|[12][0-9]|3[0-2])$/.test(prefix);
  },
  { message: 'expected an IPv4 address with its prefix length, such as 198.51.100.10/24' },
);
const Prefix = z.number().int().min(0).max(32);

const Dns = {
  /** Name servers, in the order resolv.conf lists them (glibc reads at most three). */
  nameservers: z.array(Ipv4).max(3).default([]),
  /** Search domains, resolv.conf's `search` line. */
  search: z.array(HostName).max(6).default([]),
  /** resolv.conf's `domain` line, Snooze's DOMAIN. */
  domain: HostName.optional(),
};

const Route = z
  .object({
    /** Destination network, `default` or `a.b.c.d/prefix`. */
    to: z.union([z.literal('default'), Cidr]),
    /** Next hop; without it the route is on-link through the interface. */
    via: Ipv4.optional(),
    metric: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  })
  .strict()
  .superRefine((route, ctx) => {
    // A destination is a network: `ip route add 10.1.2.3/16` fails with "Invalid prefix for given prefix length"
    // in the guest, after the CD was written. Said here, with the network that was meant.
    if (route.to === 'default') return;
    const [ip, prefixText] = route.to.split('/') as [string, string];
    const network = networkAddress(ip, Number(prefixText));
    if (network !== ip) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `${route.to} has host bits set: the network is ${network}/${prefixText}` });
    }
  });

const NetworkCommon = {
  /** The guest interface to configure; by default the one whose MAC is `mac`, else the first one that is not lo. */
  interface: z.string().regex(INTERFACE_NAME, { message: 'expected an interface name such as eth0 (at most 15 characters)' }).optional(),
  /** Configure the interface with this MAC (any case); the safest choice when names are unpredictable. */
  mac: z.string().regex(MAC, { message: 'expected a MAC address such as 52:54:00:12:34:56' }).optional(),
  mtu: z.number().int().min(68).max(65535).optional(),
  gateway: Ipv4.optional(),
  routes: z.array(Route).max(64).default([]),
  ...Dns,
};

const StaticNetwork = z
  .object({ method: z.literal('static'), address: Cidr, ...NetworkCommon })
  .strict()
  .superRefine((net, ctx) => {
    const [ip, prefixText] = net.address.split('/') as [string, string];
    const prefix = Number(prefixText);
    // zod runs this refinement even when the address itself failed (198.51.100.300/24): its own message says that
    // once; a gateway checked against a wrapped-round network would be a second, wrong one (issue 24).
    if (!isIpv4(ip) || !Number.isInteger(prefix) || prefix < 0 || prefix > 32 || (net.gateway !== undefined && !isIpv4(net.gateway))) return;
    if (net.gateway !== undefined && prefix < 32 && !inSubnet(net.gateway, ip, prefix)) {
      ctx.addIssue({
        code: 'custom',
        path: ['gateway'],
        message: `gateway ${net.gateway} is not in ${networkAddress(ip, prefix)}/${prefix}, the network of ${net.address}`,
      });
    }
  });

const IpFromMacNetwork = z
  .object({
    method: z.literal('ip-from-mac'),
    /** Prefix length of the network the MAC-encoded addresses live in. */
    prefix: Prefix,
    /** The first two octets of the MACs that carry an address (template-renderer's default is 02:00). */
    macPrefix: z.string().regex(MAC_PREFIX, { message: 'expected two hex octets such as 02:00' }).optional(),
    /** Host name of each VM unless `hostname` is given: this prefix and the address with '-' for '.'. */
    hostnamePrefix: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,40}$/, { message: 'expected letters, digits and hyphens, starting with a letter' }).default('vm-'),
    /**
     * The MACs of the VMs that share this CD, for cloud-init's network-config (cloud-init cannot read an address
     * from a MAC, so the CD lists each member's MAC with its address). vmctx's own script does not need them.
     */
    members: z.array(z.string().regex(MAC, { message: 'expected a MAC address such as 02:00:c6:33:64:0a' })).min(1).max(4096).optional(),
    ...NetworkCommon,
  })
  .strict();

const DhcpNetwork = z.object({ method: z.literal('dhcp'), ...NetworkCommon }).strict();

export const NetworkSchema = z.discriminatedUnion('method', [StaticNetwork, IpFromMacNetwork, DhcpNetwork]);

const FilePath = z
  .string()
  .max(4096)
  .refine((p) => p.startsWith('/') && p.slice(1).split('/').every((c) => PATH_COMPONENT.test(c) && c !== '.' && c !== '..'), {
    message: 'expected an absolute path of letters, digits, ".", "_", "-", "@" and "+" (no "..", no empty components)',
  });

const Mode = z.string({ error: "expected an octal mode as a quoted string, such as '0600' (unquoted 0600 is the decimal number 600 in YAML 1.2)" }).regex(/^0?[0-7]{3}$|^[0-7]{4}$/, {
  message: "expected an octal mode as a quoted string, such as '0600' (unquoted 0600 is the decimal number 600 in YAML 1.2)",
});

const Owner = z.string().regex(/^(?:[a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})$/, { message: 'expected a user or group name, or a number' });

const Content = {
  /** Text content, written byte for byte (UTF-8). */
  content: z.string().optional(),
  /** Binary or awkward content, base64-encoded. */
  contentBase64: z.string().regex(BASE64, { message: 'expected base64 text' }).optional(),
};

function exactlyOneContent(value: { content?: string | undefined; contentBase64?: string | undefined }, ctx: z.RefinementCtx): void {
  if ((value.content === undefined) === (value.contentBase64 === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['content'], message: 'give exactly one of content and contentBase64' });
  } else if (contentBytes(value).length > MAX_CONTENT_BYTES) {
    ctx.addIssue({ code: 'custom', path: ['content'], message: `content is larger than ${MAX_CONTENT_BYTES} bytes` });
  }
}

const FileSpec = z
  .object({ path: FilePath, ...Content, mode: Mode.default('0644'), owner: Owner.default('root'), group: Owner.optional() })
  .strict()
  .superRefine(exactlyOneContent);

const ScriptSpec = z.object({ name: z.string().regex(SCRIPT_NAME, { message: 'expected letters, digits, ".", "_" and "-"' }), ...Content }).strict().superRefine(exactlyOneContent);

const SshKey = z
  .string()
  .max(16384)
  .refine((k) => !/[\0-\x1f\x7f]/.test(k), { message: 'an authorized key is one line without control characters' })
  .refine((k) => SSH_KEY.test(k), { message: 'expected an OpenSSH public key line such as "ssh-ed25519 AAAA... comment"' });

export const ContextSchema = z
  .object({
    /** What makes this context new to a guest that already applied one; derived from the content when absent. */
    instanceId: z.string().regex(INSTANCE_ID, { message: 'expected letters, digits, ".", "_", ":" and "-", at most 128' }).optional(),
    hostname: HostName.optional(),
    network: NetworkSchema.optional(),
    ssh: z
      .object({
        user: z.string().regex(USER_NAME, { message: 'expected a user name such as root or debian' }).default('root'),
        authorizedKeys: z.array(SshKey).min(1).max(256),
      })
      .strict()
      .optional(),
    files: z.array(FileSpec).max(1024).default([]),
    /** Run in order after the network is up, each under the guest's shell or its #! interpreter. */
    scripts: z.array(ScriptSpec).max(256).default([]),
    /**
     * The operator's own cloud-config files, paths relative to the context file: merged into the CD's NoCloud
     * `user-data` and `network-config` (cloud-init/merge.ts: a key both give with different values is refused).
     * Only cloud-init reads them; vmctx's script does not.
     */
    cloudInit: z
      .object({ userData: z.string().min(1).max(4096).optional(), networkConfig: z.string().min(1).max(4096).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((context, ctx) => {
    const seen = new Map<string, number>();
    context.files.forEach((file, index) => {
      const earlier = seen.get(file.path);
      if (earlier !== undefined) ctx.addIssue({ code: 'custom', path: ['files', index, 'path'], message: `${file.path} is also files[${earlier}]` });
      seen.set(file.path, index);
    });
  });

export type Context = z.output<typeof ContextSchema>;
export type ContextInput = z.input<typeof ContextSchema>;
export type Network = z.output<typeof NetworkSchema>;
export type FileSpec = z.output<typeof FileSpec>;
export type ScriptSpec = z.output<typeof ScriptSpec>;

/** The bytes of a file or script entry. */
export function contentBytes(entry: { content?: string | undefined; contentBase64?: string | undefined }): Buffer {
  return entry.contentBase64 !== undefined ? Buffer.from(entry.contentBase64, 'base64') : Buffer.from(entry.content ?? '', 'utf8');
}

/** Validates a context value; the error lists every problem as zod prints it (`✖ message → at path`). */
export function parseContext(input: unknown, source = 'context'): Context {
  const result = ContextSchema.safeParse(input);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const where = first === undefined ? [] : first.code === 'unrecognized_keys' ? [...first.path, ...first.keys.slice(0, 1)] : first.path;
  const path = first ? where.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : undefined;
  throw new GuestScriptError('GUEST_INVALID_CONTEXT', `${source}: invalid context\n${z.prettifyError(result.error)}`, path);
}

/**
 * Reads a context from its YAML (or JSON) text. Its sizes are checked before it is parsed (context-size.ts): a text
 * over MAX_CONTEXT_BYTES, or a content over MAX_CONTENT_BYTES, is refused without being parsed.
 */
export function parseContextYaml(text: string, source = 'context'): Context {
  checkContextText(text, source);
  let value: unknown;
  try {
    value = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    const message = error instanceof YAMLParseError || error instanceof Error ? error.message : String(error);
    throw new GuestScriptError('GUEST_INVALID_CONTEXT', `${source}: not valid YAML: ${message}`);
  }
  return parseContext(value ?? {}, source);
}
