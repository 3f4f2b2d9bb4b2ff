// The module layering of README "Project layout": imports only go down, typeorm/, rotation/ and
// logging/ never import each other, and no file imports itself back through a cycle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = join(__dirname, '..', '..', 'src');
/** Lower layers first; a module may import its own layer or any earlier one. */
const LAYERS = [
  'errors',
  'internal-query',
  'compat',
  'codec',
  'keys',
  'envelope',
  'metadata',
  'cipher',
  'vault',
  'typeorm|rotation|logging',
  'cli|nest|jest',
  'index',
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const layerOf = (file: string) => relative(SRC, file).split('/')[0]!.replace(/\.ts$/, '');
const rank = (layer: string) => LAYERS.findIndex((l) => l.split('|').includes(layer));

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/from '(\.[^']+)'/g)].map((m) => {
    const target = resolve(dirname(file), m[1]!);
    return target.endsWith('.ts') ? target : `${target}.ts`;
  });
}

describe('module layering', () => {
  const all = files(SRC);
  const graph = new Map(all.map((f) => [f, importsOf(f)]));

  it('knows every top-level module', () => {
    expect(all.map(layerOf).filter((layer) => rank(layer) < 0)).toEqual([]);
  });

  it('imports only downwards, and never between typeorm/, rotation/ and logging/', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) {
        const [from, to] = [layerOf(file), layerOf(target)];
        if (rank(to) > rank(from) || (from !== to && rank(to) === rank(from))) upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' -> '));
        return;
      }
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of all) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
