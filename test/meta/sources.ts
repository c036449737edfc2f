/**
 * The repository's TypeScript sources and what they import, for the checks in this folder. They
 * read the .ts files (not dist), found from this file's location, so they run the same from
 * dist/test/meta and agree with what a reviewer reads. Imports are read with the TypeScript parser:
 * import and export-from declarations, `import type`, `import('x')` calls and types, and require();
 * a path in a comment or an ordinary string is not an import.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The nearest directory above this file holding package.json, src/index.ts and test/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const isRoot =
      existsSync(join(dir, 'package.json')) &&
      existsSync(join(dir, 'src', 'index.ts')) &&
      existsSync(join(dir, 'test'));
    if (isRoot) return dir;
    const up = dirname(dir);
    if (up === dir)
      throw new Error(`no repository root (package.json, src/index.ts) above ${import.meta.url}`);
    dir = up;
  }
}

export interface SourceFile {
  /** Repository-relative, with '/' separators: 'src/core/amqp/queue.ts'. */
  readonly path: string;
  readonly text: string;
}

/** Every .ts file (not .d.ts) under `folder` (repository-relative), sorted by path. */
export function readSources(root: string, folder: string): SourceFile[] {
  const found: SourceFile[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
      const path = posix.join(relative, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        found.push({ path, text: readFileSync(join(root, path), 'utf8') });
      }
    }
  };
  walk(folder);
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface ImportReference {
  /** As written: '../amqp/vhost.js', 'node:fs'; undefined for `import(expression)`. */
  readonly specifier: string | undefined;
  /**
   * The file it names, repository-relative ('src/core/amqp/vhost.ts') for a relative specifier;
   * the specifier itself for a package or builtin ('node:fs'); undefined when not a literal.
   */
  readonly target: string | undefined;
  /** Names it imports or re-exports ('*' for a namespace or `export *`, 'default'); empty for dynamic. */
  readonly names: readonly string[];
  readonly line: number;
  /** The statement or expression as written, for messages. */
  readonly text: string;
}

/** Resolves a specifier written in `fromPath`: relative ones to a repository path with .ts. */
export function resolveSpecifier(fromPath: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  const joined = posix.normalize(posix.join(posix.dirname(fromPath), specifier));
  return joined.replace(/\.js$/, '.ts');
}

/** The import, export-from, import() and require() references of one file. */
export function importsOf(file: SourceFile): ImportReference[] {
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: ImportReference[] = [];
  const add = (node: ts.Node, moduleNode: ts.Node | undefined, names: string[]) => {
    const specifier = moduleNode && ts.isStringLiteralLike(moduleNode) ? moduleNode.text : undefined;
    found.push({
      specifier,
      target: specifier === undefined ? undefined : resolveSpecifier(file.path, specifier),
      names,
      line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1,
      text: node.getText(source).replace(/\s+/g, ' ').slice(0, 160),
    });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const names: string[] = [];
      const clause = node.importClause;
      if (clause?.name) names.push('default');
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.push('*');
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) names.push((element.propertyName ?? element.name).text);
      }
      add(node, node.moduleSpecifier, names);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const names: string[] = [];
      const clause = node.exportClause;
      if (!clause || ts.isNamespaceExport(clause)) names.push('*');
      else for (const element of clause.elements) names.push((element.propertyName ?? element.name).text);
      add(node, node.moduleSpecifier, names);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, ['*']);
    } else if (ts.isImportTypeNode(node)) {
      const argument = node.argument;
      const literal = ts.isLiteralTypeNode(argument) ? argument.literal : undefined;
      add(
        node,
        literal,
        node.qualifier ? [ts.isIdentifier(node.qualifier) ? node.qualifier.text : '*'] : ['*'],
      );
    } else if (ts.isCallExpression(node)) {
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if (isDynamicImport || isRequire) add(node, node.arguments[0], ['*']);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Parses a file for checks that look at more than imports. */
export function parse(file: SourceFile): ts.SourceFile {
  return ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

export { ts };
