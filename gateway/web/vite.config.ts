import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

// dist/.gitkeep is committed so that the Go package can `//go:embed all:dist` on a clean
// clone (an embed pattern must match a file). Vite's own emptyOutDir would delete it and
// leave `git status` dirty after every build, so we empty dist ourselves and keep it.
function emptyDistKeepingGitkeep(outDir: string): Plugin {
  return {
    name: 'ecabinet:empty-dist',
    apply: 'build',
    buildStart() {
      if (!existsSync(outDir)) return;
      for (const entry of readdirSync(outDir)) {
        if (entry !== '.gitkeep') rmSync(join(outDir, entry), { recursive: true, force: true });
      }
    },
  };
}

// Absolute, so the clean-up above cannot hit another directory when vite runs elsewhere.
const outDir = fileURLToPath(new URL('./dist', import.meta.url));
// Where `npm run dev` sends API and health requests: the gateway of `make run`.
const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  plugins: [emptyDistKeepingGitkeep(outDir)],
  build: {
    outDir,
    emptyOutDir: false,
    // The Go handler gives files under assets/ a year-long immutable cache; Vite puts a
    // content hash in every name there, which is what makes that safe.
    assetsDir: 'assets',
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/readyz': gateway,
      '/healthz': gateway,
      '/api': { target: gateway, ws: true },
    },
  },
});
