// Guest code, evaluated first in every QuickJS context. It evaluates to a factory that the host calls
// with its bridge object (oracle, log) and alea; the factory installs the determinism guards
// (prelude-guards.ts) and System (prelude-system.ts), and returns the entry points the host calls:
// load, invoke(Name), pending, adopt, encodeValue/Reason, step, requestData, settle and runOracle.
// The prelude works only with intrinsics it captured before any script ran, and keeps its own state in
// objects without prototypes, so a script that rewrites globals or prototypes changes only its own
// (deterministic) behaviour: everything the host reads back is text the prelude built itself.
import { GUARDS } from './prelude-guards.js'
import { SYSTEM } from './prelude-system.js'

const CORE = String.raw`
  'use strict'
  const g = globalThis
  const { parse: jsonParse, stringify: jsonStringify } = JSON
  const { apply, construct, ownKeys } = Reflect
  const { create, defineProperty, freeze, getOwnPropertyDescriptor, getPrototypeOf, keys: keysOf } = Object
  const hasOwn = Object.prototype.hasOwnProperty
  const PromiseCtor = Promise
  const ErrorCtor = Error
  const TypeErrorCtor = TypeError
  const RangeErrorCtor = RangeError
  const toStr = String
  const WeakMapCtor = WeakMap
  const weakGet = WeakMap.prototype.get
  const weakSet = WeakMap.prototype.set

  const state = create(null)
  state.caller = null
  state.time = undefined
  state.rng = null
  state.inOracle = false
  state.loading = true
  state.outcome = undefined

  // JSON text of a primitive string: JSON.stringify looks up no toJSON for primitives.
  const q = (s) => jsonStringify(s)
  const own = (o, key) => apply(hasOwn, o, [key])

  function makeError (Ctor, name, message, code) {
    const e = construct(Ctor, [message])
    // Descriptors without a prototype: a script may have put 'get' or 'value' on Object.prototype.
    if (name !== undefined) defineProperty(e, 'name', { __proto__: null, value: name, writable: true, configurable: true })
    if (code !== undefined) defineProperty(e, 'code', { __proto__: null, value: code, writable: true, enumerable: true, configurable: true })
    return e
  }
  const typeError = (message) => makeError(TypeErrorCtor, undefined, message)
  function describe (e) {
    try {
      if (e !== null && (typeof e === 'object' || typeof e === 'function')) {
        const name = e.name
        const message = e.message
        return { name: name === undefined ? 'Error' : toStr(name), message: message === undefined ? '' : toStr(message) }
      }
      return { name: 'Error', message: toStr(e) }
    } catch (inner) {
      return { name: 'Error', message: 'an error that could not be described' }
    }
  }
  const errorJson = (info) => '{"name":' + q(info.name) + ',"message":' + q(info.message) + '}'
  function rejectNotJson (key, v) {
    const t = typeof v
    if (t === 'function' || t === 'symbol') throw typeError('a ' + t + ' is not a JSON value')
    return v
  }
  function encode (value, what) {
    let text
    try {
      text = jsonStringify(value === undefined ? null : value, rejectNotJson)
    } catch (e) {
      throw typeError(what + ' cannot be encoded as JSON: ' + describe(e).message)
    }
    return text === undefined ? 'null' : text
  }
  const rejected = (e) => new PromiseCtor((resolve, reject) => reject(e))
  const fulfilled = (v) => new PromiseCtor((resolve) => resolve(v))
`

const ENTRIES = String.raw`
  let methods = null
  function load (factory) {
    const module = { exports: {} }
    apply(factory, module.exports, [module.exports, module])
    const exp = module.exports
    methods = create(null)
    if (typeof exp === 'function') methods.default = exp
    if (exp !== null && (typeof exp === 'object' || typeof exp === 'function')) {
      const exported = keysOf(exp)
      for (let i = 0; i < exported.length; i++) {
        const value = exp[exported[i]]
        if (typeof value === 'function') methods[exported[i]] = value
      }
    }
    const names = keysOf(methods)
    let list = '['
    for (let i = 0; i < names.length; i++) list += (i === 0 ? '' : ',') + q(names[i])
    return list + ']'
  }
  // Outcomes are strings: 'ok' + JSON result, 'err' + JSON {name, message}, or 'oom'; a finite number
  // result is returned as itself, which the host reads without a string round-trip.
  function success (value, name) {
    try {
      const t = typeof value
      if (t === 'number' && value - value === 0) return value
      // Primitives need no replacer: the fast path for the common small result.
      if (value === null || t === 'number' || t === 'string' || t === 'boolean') return 'ok' + jsonStringify(value)
      return 'ok' + encode(value, 'The result of ' + name)
    } catch (e) {
      return failure(e)
    }
  }
  function failure (e) {
    // QuickJS throws null when it cannot even allocate the out-of-memory error.
    if (e === null) return 'oom'
    return 'err' + errorJson(describe(e))
  }
  // One call: [method, args, caller, time, seed] as JSON; invokeName(method) is the same call with no
  // args, no caller and no seed, which needs no parsing. A sync method that returns a primitive, with
  // no file request waiting, gives its outcome (never undefined) at once; anything else settles as
  // 'await' would, and the host reads its outcome with step() once the call's jobs and requests are
  // done. Interrupts leave no outcome.
  function invoke (callJson) {
    const call = jsonParse(callJson)
    return begin(call[0], call[1], call[2], call[3], call[4])
  }
  function invokeName (name) {
    return begin(name, [], null, null, null)
  }
  function begin (name, args, caller, time, seed) {
    state.caller = caller
    state.time = time === null ? undefined : time
    state.rng = seed === null ? null : makeAlea(seed)
    state.inOracle = false
    state.outcome = undefined
    // Loading ends with the first call (so the top level's own promise jobs cannot reach the files),
    // and requests left over by an interrupted call are dropped.
    state.loading = false
    dropRequests()
    let result
    let outcome
    try {
      result = apply(methods[name], undefined, args)
      if (result === null || (typeof result !== 'object' && typeof result !== 'function')) outcome = success(result, name)
    } catch (e) {
      outcome = failure(e)
    }
    if (outcome !== undefined) {
      if (!requestsWaiting()) return outcome
      // File requests are waiting: the host settles them first, then reads the outcome with step().
      state.outcome = outcome
      return undefined
    }
    // An object: the host looks at it natively. A native promise's outcome is read by the host once
    // the call's jobs are done (encodeValue / encodeReason), so no 'then', 'constructor' or species a
    // script could break is ever used; anything else is adopted as 'await' would (its then runs).
    state.pending = result
    state.method = name
    return 'async'
  }
  function pending () {
    const result = state.pending
    state.pending = undefined
    return result
  }
  const encodeValue = (value) => success(value, state.method)
  const encodeReason = (reason) => failure(reason)
  async function adopt (result) {
    let text
    try {
      try { text = success(await result, state.method) } catch (e) { text = failure(e) }
    } catch (e) {
      text = 'oom'
    }
    state.outcome = text
  }
  return freeze({ load, invoke, invokeName, pending, adopt, encodeValue, encodeReason, step, requestData, settle, runOracle })
`

export const PRELUDE = `(function nodevmsPrelude (host, makeAlea) {${CORE}${GUARDS}${SYSTEM}${ENTRIES}})`
