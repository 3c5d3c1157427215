// The `debug` package, as the CLI bundle sees it: a no-op. oclif logs through debug (DEBUG=oclif:*),
// a developer's aid that autolab does not offer its users; loading the real one (tty,
// supports-color, env parsing) costs every command start about 6 ms. scripts/build.mjs aliases it.
function createDebug(namespace) {
  const debug = () => {}
  debug.enabled = false
  debug.namespace = namespace
  debug.log = () => {}
  debug.extend = (suffix, delimiter = ':') => createDebug(`${namespace}${delimiter}${suffix}`)
  debug.destroy = () => true
  return debug
}
createDebug.enable = () => {}
createDebug.disable = () => ''
createDebug.enabled = () => false
createDebug.names = []
createDebug.skips = []
createDebug.formatters = {}
module.exports = createDebug
module.exports.default = createDebug
