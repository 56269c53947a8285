/**
 * Server-side rendering of a Vega-Lite spec: compiled to Vega (every compiler warning collected, so a
 * spec that Vega-Lite has to second-guess is caught by tests), run headless (renderer "none": no
 * canvas needed) and written out as a static SVG.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

type Logger = NonNullable<NonNullable<Parameters<typeof compile>[1]>['logger']>;

/** A vega-util logger that keeps warnings and throws on errors. */
function collectingLogger(warnings: string[]): Logger {
  let level = 2;
  const logger: Logger = {
    level(value?: number) {
      if (value === undefined) return level;
      level = value;
      return logger;
    },
    error(...args: readonly unknown[]) {
      throw new Error(`Vega-Lite: ${args.map(String).join(' ')}`);
    },
    warn(...args: readonly unknown[]) {
      warnings.push(args.map(String).join(' '));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger;
}

/** Compiles a Vega-Lite spec to Vega; `warnings` receives the compiler's warnings. */
export function compileSpec(spec: TopLevelSpec, warnings: string[] = []): vega.Spec {
  return compile(spec, { logger: collectingLogger(warnings) }).spec;
}

/** The static SVG of a Vega-Lite spec, and the compiler's warnings. */
export async function renderSvg(spec: TopLevelSpec): Promise<{ svg: string; warnings: string[] }> {
  const warnings: string[] = [];
  const view = new vega.View(vega.parse(compileSpec(spec, warnings)), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return { svg, warnings };
  } finally {
    view.finalize();
  }
}

/**
 * Prefixes every id in an SVG (and the url(#…)/href="#…" references to them) so that several SVGs can
 * sit inline in one page: Vega numbers clip paths from 1 in each, and ids are global to a document.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}-${id}"`);
}
