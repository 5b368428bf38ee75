// `import text from "./file?raw"`: the file's text, bundled at build time (tsup.config.ts's raw-text
// plugin; vitest and Vite do it natively). The console's page ships this way: no file is read at run time.
declare module "*?raw" {
  const text: string;
  export default text;
}
