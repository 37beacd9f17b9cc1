// Part of the prelude (prelude.ts), in its scope: System (files, oracle, caller) and console, and the
// entry points the host uses to serve file requests (step, requestData, settle) and oracles (runOracle).
// Every request is checked here and encoded from checked primitives only; the host checks it again.
export const SYSTEM = String.raw`
  // System.files: requests wait in a FIFO. Between the guest's jobs the host takes the oldest one
  // (step), performs it, and settles it (settle), so they settle in request order, one at a time.
  let requests = create(null)
  let head = 0
  let tail = 0
  const dropRequests = () => { requests = create(null); head = 0; tail = 0 }
  const requestsWaiting = () => head !== tail
  function request (op, argsJson, data, finish) {
    if (state.inOracle) return rejected(makeError(ErrorCtor, undefined, 'System.files is unavailable inside an oracle fn'))
    if (state.loading) return rejected(makeError(ErrorCtor, undefined, 'System.files is unavailable while the script loads; use it inside a method'))
    const r = create(null)
    r.op = op
    r.args = argsJson
    r.data = data
    r.finish = finish
    const promise = new PromiseCtor((resolve, reject) => { r.resolve = resolve; r.reject = reject })
    requests[tail++] = r
    return promise
  }
  // 'R' + [op, args, has data] for the oldest unsettled request; else the call's outcome so far.
  function step () {
    if (head === tail) return state.outcome
    const r = requests[head]
    return 'R[' + q(r.op) + ',' + r.args + ',' + (r.data === undefined ? 'false' : 'true') + ']'
  }
  function requestData () { return requests[head].data }
  // The host's answer: ok with a value (text, or an ArrayBuffer), or the JSON of an error to reject with.
  function settle (ok, value) {
    const r = requests[head]
    requests[head++] = undefined
    if (!ok) {
      const info = jsonParse(value)
      const Ctor = info.name === 'TypeError' ? TypeErrorCtor : ErrorCtor
      return r.reject(makeError(Ctor, info.name, info.message, own(info, 'code') ? info.code : undefined))
    }
    let result
    try { result = r.finish(value) } catch (e) { return r.reject(e) }
    r.resolve(result)
  }

  function checkPath (path) {
    if (typeof path !== 'string') throw typeError('A path must be a string, got ' + (path === null ? 'null' : typeof path))
    return path
  }
  // An option read from an object the script passed: whatever its getter or proxy throws is a TypeError.
  function option (o, key, what) {
    try {
      return o[key]
    } catch (e) {
      throw typeError(what + ' could not be read: ' + describe(e).message)
    }
  }
  function checkEncoding (enc, fallback) {
    const e = enc !== null && typeof enc === 'object' ? option(enc, 'encoding', 'The encoding option') : enc
    if (e === undefined) return fallback
    // Which names are encodings is the host's to say, after it has checked the path.
    if (typeof e !== 'string') throw typeError('An encoding must be a string, got ' + (e === null ? 'null' : typeof e))
    return e
  }
  const recursiveOption = (opts) => (opts !== null && typeof opts === 'object' && option(opts, 'recursive', 'The recursive option') ? 'true' : 'false')

  // Bytes of an ArrayBuffer or a view, copied, found through the captured getters (brand checks):
  // undefined for anything else. A detached buffer or a forged view throws.
  const typedArrayProto = getPrototypeOf(Uint8Array.prototype)
  const getter = (proto, key) => getOwnPropertyDescriptor(proto, key).get
  const isView = ArrayBuffer.isView
  const bufferLength = getter(ArrayBuffer.prototype, 'byteLength')
  const typedView = [getter(typedArrayProto, 'buffer'), getter(typedArrayProto, 'byteOffset'), getter(typedArrayProto, 'byteLength')]
  const dataView = [getter(DataView.prototype, 'buffer'), getter(DataView.prototype, 'byteOffset'), getter(DataView.prototype, 'byteLength')]
  const typedSet = typedArrayProto.set
  const Bytes = Uint8Array
  function bytesOf (data) {
    if (data === null || typeof data !== 'object') return undefined
    let view
    if (isView(data)) {
      let getters = typedView
      try { apply(getters[0], data, []) } catch (e) { getters = dataView }
      view = construct(Bytes, [apply(getters[0], data, []), apply(getters[1], data, []), apply(getters[2], data, [])])
    } else {
      let length
      try { length = apply(bufferLength, data, []) } catch (e) { return undefined }
      view = construct(Bytes, [data, 0, length])
    }
    const copy = construct(Bytes, [apply(typedView[2], view, [])])
    apply(typedSet, copy, [view])
    return apply(typedView[0], copy, [])
  }

  const asIs = (v) => v
  const nothing = () => undefined
  const READERS = create(null)
  READERS.utf8 = asIs
  READERS['utf-8'] = asIs
  READERS.base64 = asIs
  READERS.hex = asIs
  READERS.json = (v) => jsonParse(v)
  READERS.binary = (v) => construct(Bytes, [v])
  // Each method checks its arguments and encodes them; whatever a script's getters, proxies or
  // toJSON throw on the way is a TypeError (checkPath, option, encode, bytesOf), in a rejected promise.
  // (Named parameters: a missing argument in a rest array would be looked up on Array.prototype.)
  function filesMethod (name, body) {
    return freeze({ [name] (a0, a1, a2) {
      try { return body(a0, a1, a2) } catch (e) { return rejected(e) }
    } }[name])
  }
  const files = freeze({
    readFile: filesMethod('readFile', (pathArg, enc) => {
      const path = checkPath(pathArg)
      const encoding = checkEncoding(enc, 'utf8')
      return request('readFile', '[' + q(path) + ',' + q(encoding) + ']', undefined, READERS[encoding] ?? asIs)
    }),
    writeFile: filesMethod('writeFile', (pathArg, data, enc) => {
      const path = checkPath(pathArg)
      const encoding = checkEncoding(enc, undefined)
      const bytes = bytesOf(data)
      if (bytes !== undefined) return request('writeFile', '[' + q(path) + ',"binary"]', bytes, nothing)
      if (typeof data === 'string' && encoding !== 'json') {
        if (encoding === 'binary') throw typeError("writeFile(path, text, 'binary') needs bytes: pass a Uint8Array, or a text encoding")
        return request('writeFile', '[' + q(path) + ',' + q(encoding === undefined ? 'utf8' : encoding) + ',' + q(data) + ']', undefined, nothing)
      }
      return request('writeFile', '[' + q(path) + ',"utf8",' + q(encode(data, 'The data for writeFile')) + ']', undefined, nothing)
    }),
    stat: filesMethod('stat', (path) => request('stat', '[' + q(checkPath(path)) + ']', undefined, (v) => {
      const s = jsonParse(v)
      const type = s.type
      return freeze({ size: s.size, isFile: () => type === 'file', isDirectory: () => type === 'directory' })
    })),
    readdir: filesMethod('readdir', (path, opts) => {
      const dir = path === undefined ? '/' : checkPath(path)
      return request('readdir', '[' + q(dir) + ',' + recursiveOption(opts) + ']', undefined, (v) => jsonParse(v))
    }),
    mkdir: filesMethod('mkdir', (path) => request('mkdir', '[' + q(checkPath(path)) + ']', undefined, nothing)),
    unlink: filesMethod('unlink', (path) => request('unlink', '[' + q(checkPath(path)) + ']', undefined, nothing)),
    rmdir: filesMethod('rmdir', (path, opts) => request('rmdir', '[' + q(checkPath(path)) + ',' + recursiveOption(opts) + ']', undefined, nothing))
  })

  // System.oracle: one host call in live runs and replays alike, so both reach the same gas position.
  // Live, the host saves the interrupt counter and calls runOracle (fn runs with a working clock and
  // randomness); in a replay it returns the recorded outcome and fn does not run. Both parse the same JSON.
  const oracle = freeze({ oracle (fn) {
    if (typeof fn !== 'function') return rejected(typeError('System.oracle(fn) needs a function'))
    // The top level runs again at every start, outside any call, so nothing could record its outcome.
    if (state.loading) return rejected(makeError(ErrorCtor, undefined, 'System.oracle is unavailable while the script loads; use it inside a method'))
    // Thrown, not rejected: fn is synchronous, so this fails fn itself with a message that says why.
    if (state.inOracle) throw makeError(ErrorCtor, undefined, 'System.oracle cannot be called inside an oracle fn')
    const outcome = host.oracle(fn)
    // The deadline fired inside fn (live, or recorded so): stop at the next poll, before anything else runs.
    if (outcome === '!interrupt') for (;;) {}
    const o = jsonParse(outcome)
    if (own(o, 'error')) return rejected(makeError(ErrorCtor, o.error.name, o.error.message))
    return fulfilled(o.value)
  } }.oracle)
  function runOracle (fn) {
    state.inOracle = true
    try {
      const value = fn()
      if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function') {
        return '{"error":' + errorJson({ name: 'TypeError', message: 'System.oracle fn must be synchronous, but it returned a promise' }) + '}'
      }
      return '{"value":' + encode(value, 'The oracle result') + '}'
    } catch (e) {
      return '{"error":' + errorJson(describe(e)) + '}'
    } finally {
      state.inOracle = false
    }
  }

  function format (args) {
    let out = ''
    for (let i = 0; i < args.length; i++) {
      const a = args[i]
      let s
      try {
        if (typeof a === 'string') s = a
        else if (a instanceof ErrorCtor) { const d = describe(a); s = d.name + ': ' + d.message }
        else { s = jsonStringify(a); if (typeof s !== 'string') s = toStr(a) }
      } catch (e) {
        try { s = toStr(a) } catch (inner) { s = '(a value that cannot be printed)' }
      }
      out += (i === 0 ? '' : ' ') + s
    }
    return out
  }
  const consoleObject = freeze({
    log: freeze((...a) => host.log('log', format(a))),
    info: freeze((...a) => host.log('log', format(a))),
    warn: freeze((...a) => host.log('error', format(a))),
    error: freeze((...a) => host.log('error', format(a)))
  })
  defineProperty(g, 'console', { value: consoleObject, writable: true, configurable: true })
  const callerId = getOwnPropertyDescriptor({ get id () { return state.caller } }, 'id').get
  const caller = freeze(defineProperty({}, 'id', { get: freeze(callerId), enumerable: true }))
  defineProperty(g, 'System', { value: freeze({ files, oracle, caller }), writable: false, enumerable: false, configurable: false })
`
