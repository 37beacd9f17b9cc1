// Method names a script may not export (README "Method names"): each would be unreachable over the
// protocol, or would turn a JS client object into something else (a thenable, another prototype).
// One definition for both ends: the host refuses such a script at load, and the client never makes
// such a listed name into a property (an older host may still list one).

/** Object.prototype's members: every JS object has them, so a client cannot carry a remote method by these names. */
const OBJECT_MEMBERS = new Set(['__proto__', 'constructor', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable',
  'toLocaleString', 'toString', 'valueOf', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__'])

/** Why a script may not export a method by this name, or null when it may. */
export function reservedMethodReason (name: string): string | null {
  if (name === '') return 'an empty name cannot be called as a method of a client'
  if (name === 'handshake') return '"handshake" is the protocol\'s own method, which an export never shadows, so it could never be called'
  if (name.startsWith('rpc.')) return 'JSON-RPC 2.0 reserves method names that begin with "rpc." for the protocol itself'
  if (name === 'then') return 'a client object with a "then" method is a thenable: `await connect(url)` would call it instead of settling, and hang'
  if (OBJECT_MEMBERS.has(name)) {
    return `every JavaScript object already has "${name}" (from Object.prototype), so a client cannot carry a remote method by that name` +
      (name === '__proto__' ? ' (assigning it would replace the client\'s prototype)' : '')
  }
  return null
}
