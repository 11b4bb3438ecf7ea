// Worker modules that e2e tests import types from name workers-types globals; this project has
// Node's and the DOM's globals instead (both would clash with workers-types), so the few
// reached are declared here from the module form of the same package.
type KVNamespace<Key extends string = string> =
  import('@cloudflare/workers-types/2023-07-01/index.ts').KVNamespace<Key>
