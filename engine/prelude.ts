// Guest code, evaluated first in every QuickJS context. It evaluates to a factory that the host calls
// with its bridge object (oracle, log) and alea; the factory installs the determinism guards and
// System, and returns the entry points the host calls: load, invoke(Name), step, requestData, settle
// and runOracle. Everything it needs is captured before any script runs, so a script that rewrites
// globals only changes its own (deterministic) behaviour.
export const PRELUDE = String.raw`(function nodevmsPrelude (host, makeAlea) {
  'use strict'
  const g = globalThis
  const RealDate = Date
  const realRandom = Math.random
  const { parse: jsonParse, stringify: jsonStringify } = JSON
  const PromiseCtor = Promise
  const then = Promise.prototype.then
  const resolved = (v) => Promise.resolve(v)
  const rejected = (e) => Promise.reject(e)
  const freeze = Object.freeze
  const apply = Reflect.apply
  const isView = ArrayBuffer.isView

  const state = { caller: null, time: undefined, rng: null, inOracle: false, loading: true, outcome: undefined }

  function makeError (info) {
    const e = new Error(info.message)
    e.name = info.name
    if (info.code !== undefined) e.code = info.code
    return e
  }
  function describe (e) {
    try {
      if (e !== null && typeof e === 'object') {
        return { name: String(e.name === undefined ? 'Error' : e.name), message: String(e.message === undefined ? '' : e.message) }
      }
      return { name: 'Error', message: String(e) }
    } catch (inner) {
      return { name: 'Error', message: 'an error that could not be described' }
    }
  }
  function encode (value, what) {
    try {
      const text = jsonStringify(value === undefined ? null : value, function (key, v) {
        const t = typeof v
        if (t === 'function' || t === 'symbol') throw new TypeError('a ' + t + ' is not a JSON value')
        return v
      })
      return text === undefined ? 'null' : text
    } catch (e) {
      throw new TypeError(what + ' cannot be encoded as JSON: ' + describe(e).message)
    }
  }

  // Determinism guards: the clock and randomness exist only inside a live oracle, or frozen per call
  // in seeded mode.
  function unavailable (what) {
    const e = new Error(what + ' is not available in a nodevms script: it would make replays differ. ' +
      'Record it with System.oracle(() => ' + what + '), or run the host with --seeded.')
    e.name = 'NondeterminismError'
    return e
  }
  function now () {
    if (state.inOracle) return RealDate.now()
    if (state.time !== undefined) return state.time
    throw unavailable('Date.now()')
  }
  function GuardedDate (...args) {
    if (new.target === undefined) return new RealDate(now()).toString()
    return Reflect.construct(RealDate, args.length === 0 ? [now()] : args, new.target)
  }
  Object.defineProperties(GuardedDate, {
    prototype: { value: RealDate.prototype },
    now: { value: function now_ () { return now() }, writable: true, configurable: true },
    parse: { value: RealDate.parse, writable: true, configurable: true },
    UTC: { value: RealDate.UTC, writable: true, configurable: true },
    length: { value: 7 },
    name: { value: 'Date' }
  })
  Object.defineProperty(RealDate.prototype, 'constructor', { value: GuardedDate, writable: true, configurable: true })
  Object.defineProperty(g, 'Date', { value: GuardedDate, writable: true, configurable: true })
  Object.defineProperty(Math, 'random', {
    value: function random () {
      if (state.inOracle) return realRandom()
      if (state.rng !== null) return state.rng()
      throw unavailable('Math.random()')
    },
    writable: true,
    configurable: true
  })
  for (const name of ['WeakRef', 'FinalizationRegistry', 'setTimeout', 'setInterval', 'setImmediate',
    'clearTimeout', 'clearInterval', 'require', 'process', 'Buffer']) delete g[name]

  // System.files: requests wait in a FIFO. Between the guest's jobs the host takes the oldest one
  // (step), performs it, and settles it (settle), so they settle in request order, one at a time.
  let requests = []
  let head = 0
  function fileOp (op, args, data) {
    if (state.inOracle) return rejected(makeError({ name: 'Error', message: 'System.files is unavailable inside an oracle fn' }))
    if (state.loading) return rejected(makeError({ name: 'Error', message: 'System.files is unavailable while the script loads; use it inside a method' }))
    let settlers
    const p = new PromiseCtor((resolve, reject) => { settlers = [resolve, reject] })
    requests[requests.length] = [op, args, data, settlers]
    return then.call(p, undefined, (info) => { throw makeError(jsonParse(info)) })
  }
  // 'R' + [op, args, has data] for the oldest unsettled request; else the call's outcome so far.
  function step () {
    if (head === requests.length) return state.outcome
    const r = requests[head]
    return 'R' + jsonStringify([r[0], r[1], r[2] !== undefined])
  }
  function requestData () { return requests[head][2] }
  function settle (ok, value) {
    const r = requests[head]
    requests[head++] = undefined
    r[3][ok ? 0 : 1](value)
  }
  function bytesOf (data) {
    if (data instanceof ArrayBuffer) return data.slice(0)
    if (isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
    return undefined
  }
  const files = freeze({
    readFile (path, enc) {
      const encoding = enc === undefined ? 'utf8' : (typeof enc === 'object' && enc !== null ? enc.encoding : enc)
      return then.call(fileOp('readFile', [path, encoding]), (v) => {
        if (encoding === 'json') return jsonParse(v)
        if (encoding === 'binary') return new Uint8Array(v)
        return v
      })
    },
    writeFile (path, data, enc) {
      const encoding = enc === undefined ? undefined : (typeof enc === 'object' && enc !== null ? enc.encoding : enc)
      const bytes = bytesOf(data)
      if (bytes !== undefined) return then.call(fileOp('writeFile', [path, 'binary'], bytes), () => undefined)
      let text
      let textEncoding = encoding === undefined || encoding === 'json' ? 'utf8' : encoding
      if (typeof data === 'string' && encoding !== 'json') text = data
      else {
        try { text = encode(data, 'The data for writeFile') } catch (e) { return rejected(e) }
        textEncoding = 'utf8'
      }
      return then.call(fileOp('writeFile', [path, textEncoding, text]), () => undefined)
    },
    stat (path) {
      return then.call(fileOp('stat', [path]), (v) => {
        const s = jsonParse(v)
        return freeze({ size: s.size, isFile: () => s.type === 'file', isDirectory: () => s.type === 'directory' })
      })
    },
    readdir (path, opts) {
      const recursive = !!(opts !== null && typeof opts === 'object' && opts.recursive)
      return then.call(fileOp('readdir', [path === undefined ? '/' : path, recursive]), (v) => jsonParse(v))
    },
    mkdir (path) { return then.call(fileOp('mkdir', [path]), () => undefined) },
    unlink (path) { return then.call(fileOp('unlink', [path]), () => undefined) },
    rmdir (path, opts) {
      const recursive = !!(opts !== null && typeof opts === 'object' && opts.recursive)
      return then.call(fileOp('rmdir', [path, recursive]), () => undefined)
    }
  })

  // System.oracle: one host call in live runs and replays alike, so both reach the same gas position.
  // Live, the host saves the interrupt counter and calls runOracle (fn runs with a working clock and
  // randomness); in a replay it returns the recorded outcome and fn does not run. Both parse the same JSON.
  function oracle (fn) {
    if (typeof fn !== 'function') return rejected(new TypeError('System.oracle(fn) needs a function'))
    // The top level runs again at every start, outside any call, so nothing could record its outcome.
    if (state.loading) return rejected(new Error('System.oracle is unavailable while the script loads; use it inside a method'))
    // Thrown, not rejected: fn is synchronous, so this fails fn itself with a message that says why.
    if (state.inOracle) throw new Error('System.oracle cannot be called inside an oracle fn')
    const outcome = host.oracle(fn)
    // The deadline fired inside fn (live, or recorded so): stop at the next poll, before anything else runs.
    if (outcome === '!interrupt') for (;;) {}
    const o = jsonParse(outcome)
    return o.error !== undefined ? rejected(makeError(o.error)) : resolved(o.value)
  }
  function runOracle (fn) {
    state.inOracle = true
    try {
      const value = fn()
      if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function') {
        return jsonStringify({ error: { name: 'TypeError', message: 'System.oracle fn must be synchronous, but it returned a promise' } })
      }
      return '{"value":' + encode(value, 'The oracle result') + '}'
    } catch (e) {
      return jsonStringify({ error: describe(e) })
    } finally {
      state.inOracle = false
    }
  }

  function format (args) {
    let out = ''
    for (let i = 0; i < args.length; i++) {
      const a = args[i]
      let s
      if (typeof a === 'string') s = a
      else if (a instanceof Error) s = describe(a).name + ': ' + describe(a).message
      else { try { s = jsonStringify(a) } catch (e) { s = String(a) } if (s === undefined) s = String(a) }
      out += (i === 0 ? '' : ' ') + s
    }
    return out
  }
  const consoleObject = freeze({
    log: (...a) => host.log('log', format(a)),
    info: (...a) => host.log('log', format(a)),
    warn: (...a) => host.log('error', format(a)),
    error: (...a) => host.log('error', format(a))
  })
  Object.defineProperty(g, 'console', { value: consoleObject, writable: true, configurable: true })
  const caller = freeze({ get id () { return state.caller } })
  Object.defineProperty(g, 'System', { value: freeze({ files, oracle, caller }), enumerable: false })

  let methods = null
  function load (factory) {
    const module = { exports: {} }
    factory.call(module.exports, module.exports, module)
    const exp = module.exports
    methods = Object.create(null)
    if (typeof exp === 'function') methods.default = exp
    if (exp !== null && (typeof exp === 'object' || typeof exp === 'function')) {
      for (const key of Object.keys(exp)) if (typeof exp[key] === 'function') methods[key] = exp[key]
    }
    return jsonStringify(Object.keys(methods))
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
    return 'err' + jsonStringify(describe(e))
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
    requests = []
    head = 0
    let result
    let outcome
    try {
      result = apply(methods[name], undefined, args)
      if (result === null || (typeof result !== 'object' && typeof result !== 'function')) outcome = success(result, name)
    } catch (e) {
      outcome = failure(e)
    }
    if (outcome !== undefined) {
      if (head === requests.length) return outcome
      // File requests are waiting: the host settles them first, then reads the outcome with step().
      state.outcome = outcome
      return undefined
    }
    const settled = (async () => {
      try { return success(await result, name) } catch (e) { return failure(e) }
    })()
    then.call(settled, (text) => { state.outcome = text }, () => { state.outcome = 'oom' })
    return undefined
  }
  return { load, invoke, invokeName, step, requestData, settle, runOracle }
})`
