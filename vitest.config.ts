import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests spawn real trainer processes; two cores here, so keep files from starving each other.
    maxWorkers: 2,
  },
})
