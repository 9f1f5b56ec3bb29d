/**
 * Protobuf stays in packages/protocol. The rule, for every source file outside
 * it (tests and test support excluded):
 *   1. it imports no generated message type: no name that is a message of
 *      proto/ (X or X__Output) from @pfedlora/protocol, nothing from a
 *      generated/ folder;
 *   2. if it speaks the wire (imports @pfedlora/protocol or @grpc/grpc-js),
 *      no protobuf field name with an underscore (session_id, total_bytes...)
 *      appears in its code (comments and string text aside): it goes through
 *      the serde module's domain types, FederationConnection or AdminChannel.
 * No allowlist: a file that needs a wire message gets a serde function.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const REPO = join(__dirname, '..', '..', '..');

/** Message names and snake_case field names of every .proto file under proto/. */
function protoVocabulary(): { readonly messages: Set<string>; readonly fields: Set<string> } {
  const messages = new Set<string>();
  const fields = new Set<string>();
  for (const file of walk(join(REPO, 'proto'), (f) => f.endsWith('.proto'))) {
    const text = readFileSync(file, 'utf8').replace(/\/\/[^\n]*/g, '');
    for (const m of text.matchAll(/\bmessage\s+(\w+)/g)) messages.add(m[1]!);
    for (const m of text.matchAll(/^\s*(?:repeated\s+|optional\s+)?[\w.]+\s+(\w+)\s*=\s*\d+\s*;/gm)) if (m[1]!.includes('_')) fields.add(m[1]!);
  }
  return { messages, fields };
}

function walk(dir: string, keep: (file: string) => boolean): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) return [];
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path, keep) : keep(path) ? [path] : [];
  });
}

const isSource = (f: string) => /\.(ts|js|mjs|cjs)$/.test(f) && !/\.test\.(ts|js)$/.test(f) && !f.split(sep).includes('testing');

/** Every non-test source file outside packages/protocol. */
function sourcesOutsideProtocol(): string[] {
  const packages = readdirSync(join(REPO, 'packages')).filter((p) => p !== 'protocol');
  const roots = [...packages.map((p) => join(REPO, 'packages', p, 'src')), join(REPO, 'scripts'), join(REPO, 'examples')];
  return roots.flatMap((root) => {
    try {
      return walk(root, isSource);
    } catch {
      return []; // a package without src/
    }
  });
}

/** The code of a TypeScript / JavaScript source: comments and string text blanked (template ${} kept), newlines kept. */
function codeOf(source: string): string {
  let out = '';
  const stack: Array<{ kind: 'code'; depth: number } | { kind: 'template' }> = [{ kind: 'code', depth: 0 }];
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  let i = 0;
  while (i < source.length) {
    const top = stack[stack.length - 1]!;
    const c = source[i]!;
    if (top.kind === 'template') {
      if (c === '\\') {
        out += '  ';
        i += 2;
      } else if (c === '`') {
        stack.pop();
        out += c;
        i++;
      } else if (c === '$' && source[i + 1] === '{') {
        stack.push({ kind: 'code', depth: 0 });
        out += '${';
        i += 2;
      } else {
        out += blank(c);
        i++;
      }
      continue;
    }
    if (c === '/' && source[i + 1] === '/') {
      const end = source.indexOf('\n', i);
      const stop = end < 0 ? source.length : end;
      out += blank(source.slice(i, stop));
      i = stop;
    } else if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end < 0 ? source.length : end + 2;
      out += blank(source.slice(i, stop));
      i = stop;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < source.length && source[j] !== c && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      out += c + blank(source.slice(i + 1, j)) + c;
      i = j + 1;
    } else if (c === '`') {
      stack.push({ kind: 'template' });
      out += c;
      i++;
    } else {
      if (c === '{') top.depth++;
      if (c === '}') {
        if (top.depth === 0 && stack.length > 1) {
          stack.pop();
          out += c;
          i++;
          continue;
        }
        top.depth--;
      }
      out += c;
      i++;
    }
  }
  return out;
}

/** What a file breaks of the rule, one line each ("line N: ..."). */
function violations(source: string, vocabulary: ReturnType<typeof protoVocabulary>): string[] {
  const found: string[] = [];
  const code = codeOf(source);
  const lineOf = (index: number) => source.slice(0, index).split('\n').length;
  // Import and export clauses keep their module string: read them from the source.
  for (const m of source.matchAll(/\b(?:import|export)\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)) {
    const from = m[2]!;
    if (/(^|\/)generated(\/|$)/.test(from)) found.push(`line ${lineOf(m.index!)}: imports from ${from}`);
    if (!from.startsWith('@pfedlora/protocol')) continue;
    for (const part of m[1]!.split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!.trim();
      if (name && (name.endsWith('__Output') || vocabulary.messages.has(name))) found.push(`line ${lineOf(m.index!)}: imports the generated message type ${name} from ${from}`);
    }
  }
  const speaksWire = /from\s*['"](@pfedlora\/protocol|@grpc\/grpc-js)['"]|require\(\s*['"](@pfedlora\/protocol|@grpc\/grpc-js)['"]\s*\)/.test(source);
  if (speaksWire) {
    for (const field of vocabulary.fields) {
      for (const m of code.matchAll(new RegExp(`\\b${field}\\b`, 'g'))) found.push(`line ${lineOf(m.index!)}: names the protobuf field ${field}`);
    }
  }
  const line = (v: string) => Number(/^line (\d+)/.exec(v)![1]);
  return found.sort((a, b) => line(a) - line(b));
}

describe('protobuf stays in packages/protocol', () => {
  const vocabulary = protoVocabulary();

  test('the rule reads the proto files and catches what it forbids', () => {
    expect([...vocabulary.messages]).toEqual(expect.arrayContaining(['JoinRequest', 'PayloadChunk', 'RunStatus']));
    expect([...vocabulary.fields]).toEqual(expect.arrayContaining(['session_id', 'total_bytes', 'run_id', 'resume_token']));
    const bad = [
      "import * as grpc from '@grpc/grpc-js';",
      "import { loadFederationProto, type JoinResponse__Output, type PayloadChunk } from '@pfedlora/protocol';",
      "import type { UploadHeader } from '../protocol/src/generated/pfedlora/v1/UploadHeader';",
      'client.Download({ session_id: id, sha256, offset: 0 });',
      'const n = `${chunk.total_bytes} bytes`; // total_bytes in a comment is fine',
      "const s = 'session_id in a string is fine';",
    ].join('\n');
    expect(violations(bad, vocabulary)).toEqual([
      'line 2: imports the generated message type JoinResponse__Output from @pfedlora/protocol',
      'line 2: imports the generated message type PayloadChunk from @pfedlora/protocol',
      'line 3: imports from ../protocol/src/generated/pfedlora/v1/UploadHeader',
      'line 4: names the protobuf field session_id',
      'line 5: names the protobuf field total_bytes',
    ]);
    // Comments, strings and a file that does not speak the wire are left alone.
    expect(violations("// session_id\nconst labels = { client_id: id };\nconst s = 'total_bytes';", vocabulary)).toEqual([]);
  });

  test('no source file outside packages/protocol imports a generated message type or names a protobuf field', () => {
    const files = sourcesOutsideProtocol();
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((file) => violations(readFileSync(file, 'utf8'), vocabulary).map((v) => `${relative(REPO, file)} ${v}`));
    expect(found).toEqual([]);
  });
});
