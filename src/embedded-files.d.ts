// Files imported `with { type: "file" }` resolve to their path (in the
// compiled binary: a /$bunfs/ path that src/native/embedded.ts writes out).
declare module "*.so" {
  const path: string;
  export default path;
}
declare module "*/containr-init" {
  const path: string;
  export default path;
}
declare module "*/containr-monitor" {
  const path: string;
  export default path;
}
declare module "*/containr-reaper" {
  const path: string;
  export default path;
}
