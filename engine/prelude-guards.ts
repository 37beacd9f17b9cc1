// Part of the prelude (prelude.ts), in its scope: the determinism guards. The clock and randomness
// exist only inside a live oracle, or frozen per call in seeded mode; timers and host objects do not
// exist; and bind refuses chains deeper than QuickJS's own stack check can see.
export const GUARDS = String.raw`
  const RealDate = Date
  const realNow = Date.now
  const realRandom = Math.random
  function unavailable (what) {
    return makeError(ErrorCtor, 'NondeterminismError', what + ' is not available in a nodevms script: it would make replays differ. ' +
      'Record it with System.oracle(() => ' + what + '), or run the host with --seeded.')
  }
  function now () {
    if (state.inOracle) return apply(realNow, RealDate, [])
    if (state.time !== undefined) return state.time
    throw unavailable('Date.now()')
  }
  function GuardedDate (...args) {
    if (new.target === undefined) return construct(RealDate, [now()]).toString()
    return construct(RealDate, args.length === 0 ? [now()] : args, new.target)
  }
  Object.defineProperties(GuardedDate, {
    prototype: { value: RealDate.prototype },
    now: { value: function now_ () { return now() }, writable: true, configurable: true },
    parse: { value: RealDate.parse, writable: true, configurable: true },
    UTC: { value: RealDate.UTC, writable: true, configurable: true },
    length: { value: 7 },
    name: { value: 'Date' }
  })
  defineProperty(RealDate.prototype, 'constructor', { value: GuardedDate, writable: true, configurable: true })
  defineProperty(g, 'Date', { value: GuardedDate, writable: true, configurable: true })
  defineProperty(Math, 'random', {
    value: function random () {
      if (state.inOracle) return apply(realRandom, Math, [])
      if (state.rng !== null) return state.rng()
      throw unavailable('Math.random()')
    },
    writable: true,
    configurable: true
  })
  for (const name of ['WeakRef', 'FinalizationRegistry', 'setTimeout', 'setInterval', 'setImmediate',
    'clearTimeout', 'clearInterval', 'require', 'process', 'Buffer']) delete g[name]

  // QuickJS never checks its stack for 'new' through a chain of bound functions, so such a chain
  // could only end in the host's own stack overflow: bind refuses to make chains that long.
  const realBind = Function.prototype.bind
  const boundDepth = new WeakMapCtor()
  const MAX_BOUND_DEPTH = 1000
  defineProperty(Function.prototype, 'bind', {
    value: ({ bind (thisArg, ...args) {
      const depth = (apply(weakGet, boundDepth, [this]) || 0) + 1
      if (depth > MAX_BOUND_DEPTH) throw makeError(RangeErrorCtor, undefined, 'Function.prototype.bind: a chain of more than ' + MAX_BOUND_DEPTH + ' bound functions is not supported')
      const bindArgs = create(null)
      bindArgs[0] = thisArg
      for (let i = 0; i < args.length; i++) bindArgs[i + 1] = args[i]
      bindArgs.length = args.length + 1
      const bound = apply(realBind, this, bindArgs)
      apply(weakSet, boundDepth, [bound, depth])
      return bound
    } }).bind,
    writable: true,
    configurable: true
  })

  // QuickJS lets defineProperty change a non-configurable property of the global object (it refuses
  // on any other object), which would let a script replace System. On the global object, the
  // descriptor is read once, checked as the language requires, and only then defined.
  const realDefineProperty = defineProperty
  const realDefineProperties = Object.defineProperties
  const realReflectDefine = Reflect.defineProperty
  const DESCRIPTOR_FIELDS = ['enumerable', 'configurable', 'value', 'writable', 'get', 'set']
  function readDescriptor (d) {
    if (d === null || (typeof d !== 'object' && typeof d !== 'function')) throw makeError(TypeErrorCtor, undefined, 'Property description must be an object')
    const out = create(null)
    for (let i = 0; i < DESCRIPTOR_FIELDS.length; i++) {
      const field = DESCRIPTOR_FIELDS[i]
      if (field in d) out[field] = d[field]
    }
    return out
  }
  // ToPropertyKey, done once: a key object's toString must not answer differently the second time.
  const propertyKey = (key) => (key !== null && (typeof key === 'object' || typeof key === 'function') ? ownKeys({ __proto__: null, [key]: 0 })[0] : key)
  const same = (a, b) => a === b ? (a !== 0 || 1 / a === 1 / b) : (a !== a && b !== b)
  // ValidateAndApplyPropertyDescriptor's refusals, for a property that exists and is not configurable.
  function allowedOnGlobal (key, d) {
    const current = getOwnPropertyDescriptor(g, key)
    if (current === undefined || current.configurable) return true
    if (d.configurable === true) return false
    if ('enumerable' in d && !!d.enumerable !== current.enumerable) return false
    const accessor = 'get' in d || 'set' in d
    const data = 'value' in d || 'writable' in d
    if (own(current, 'value')) {
      if (accessor) return false
      if (!current.writable) return !(d.writable === true) && !('value' in d && !same(d.value, current.value))
      return true
    }
    if (data) return false
    return !('get' in d && d.get !== current.get) && !('set' in d && d.set !== current.set)
  }
  const refused = (key) => makeError(TypeErrorCtor, undefined, 'Cannot redefine property: ' + toStr(key))
  const guardedDefiners = {
    defineProperty (o, key, d) {
      if (o !== g) return apply(realDefineProperty, undefined, [o, key, d])
      const k = propertyKey(key)
      const desc = readDescriptor(d)
      if (!allowedOnGlobal(k, desc)) throw refused(k)
      return apply(realDefineProperty, undefined, [o, k, desc])
    },
    defineProperties (o, props) {
      if (o !== g) return apply(realDefineProperties, undefined, [o, props])
      const names = ownKeys(props)
      const descs = create(null)
      for (let i = 0; i < names.length; i++) {
        const prop = getOwnPropertyDescriptor(props, names[i])
        if (prop !== undefined && prop.enumerable) descs[i] = readDescriptor(props[names[i]])
      }
      for (let i = 0; i < names.length; i++) if (i in descs && !allowedOnGlobal(names[i], descs[i])) throw refused(names[i])
      for (let i = 0; i < names.length; i++) if (i in descs) apply(realDefineProperty, undefined, [o, names[i], descs[i]])
      return o
    },
    reflectDefine (o, key, d) {
      if (o !== g) return apply(realReflectDefine, undefined, [o, key, d])
      const k = propertyKey(key)
      const desc = readDescriptor(d)
      return allowedOnGlobal(k, desc) && apply(realReflectDefine, undefined, [o, k, desc])
    }
  }
  for (const [owner, name, fn] of [[Object, 'defineProperty', guardedDefiners.defineProperty], [Object, 'defineProperties', guardedDefiners.defineProperties], [Reflect, 'defineProperty', guardedDefiners.reflectDefine]]) {
    realDefineProperty(fn, 'name', { value: name })
    realDefineProperty(owner, name, { value: fn, writable: true, configurable: true })
  }
`