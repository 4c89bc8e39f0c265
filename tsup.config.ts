import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'address/index': 'src/address/index.ts',
    'maps/index': 'src/maps/index.ts',
    'route/index': 'src/route/index.ts',
    'server/index': 'src/server/index.ts',
    'cli/main': 'src/cli/main.ts',
    'integrations/haraka': 'src/integrations/haraka.ts',
    'integrations/smtp-server': 'src/integrations/smtp-server.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  shims: true,
});
