'use strict'
// Usage: node codec_roundtrip.js produce|consume|codec <config.json>
// kafkajs with every compression codec (codecs.js registers snappy, lz4, zstd),
// driven by tests/integration/test_kafkajs_codecs.py. Bytes travel as base64
// (null stays null); headers are lists of [name, base64|null], in order.
//
// produce: {"brokers": ["h:p"], "topic": "t", "codec": "none|gzip|snappy|lz4|zstd",
//           "sends": [[{"p": 0, "k": .., "v": .., "h": [[name, ..], ..]}, ..], ..], "timeoutMs": 60000}
//   One producer.send() per element of "sends", in order, acks=-1, with that codec
//   (kafkajs makes one record batch per partition per send).
//   Prints {"ok": true, "sends": n, "records": n}.
// consume: {"brokers": ["h:p"], "groupId": "g", "topics": ["t"], "expected": n,
//           "settleMs": 300, "timeoutMs": 60000}
//   A consumer-group member (fromBeginning) reads until it has `expected`
//   records, keeps reading `settleMs` more (so extras would show), disconnects.
//   Prints one line per record in arrival order:
//     {"t": topic, "p": 0, "o": "12", "k": .., "v": .., "h": [[name, ..], ..]}
//   then {"done": bool, "count": n, "timedOut": bool, "errors": [the last kafkajs errors]}.
// codec:   {"cases": [{"codec": "lz4", "op": "compress|decompress", "in": path, "out": path}]}
//   Runs our codec glue on files (no broker), for checks against the reference tools.
//   Prints {"ok": true, "cases": n}.
// Exit codes: 0 done, 3 consume timed out before `expected`, 1 client error
// (or the consumer crashed), 2 hard timeout, 64 usage.
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')
const codecs = require('./codecs')

const [mode, cfgPath] = process.argv.slice(2, 4)
if (!['produce', 'consume', 'codec'].includes(mode) || !cfgPath) {
  console.error('usage: node codec_roundtrip.js produce|consume|codec <config.json>')
  process.exit(64)
}
const cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8'))
const timeoutMs = cfg.timeoutMs || 60000
const LOG_LEVEL = logLevel[(process.env.SAMSA_KAFKAJS_LOG || 'nothing').toUpperCase()] ?? logLevel.NOTHING

const fromB64 = (s) => (s === null || s === undefined ? null : Buffer.from(s, 'base64'))
const toB64 = (b) => (b === null || b === undefined ? null : b.toString('base64'))

// kafkajs' own errors (a codec that throws shows up only in its log) are
// kept, the last few, for the status line; SAMSA_KAFKAJS_LOG=debug|info|warn|error
// also prints its log on stderr.
const clientErrors = []
function noteError (text) {
  clientErrors.push(text.slice(0, 500))
  if (clientErrors.length > 5) clientErrors.shift()
}
const logCreator = () => ({ level, log }) => {
  if (level <= logLevel.ERROR) noteError(`${log.message}${log.error ? `: ${log.error}` : ''}`)
  if (level <= LOG_LEVEL) console.error(JSON.stringify({ level, ...log }))
}

function kafka (clientId) {
  return new Kafka({
    clientId,
    brokers: cfg.brokers,
    logLevel: Math.max(LOG_LEVEL, logLevel.ERROR),
    logCreator,
    retry: { retries: 8, initialRetryTime: 100 }
  })
}

// [[name, b64]...] -> kafkajs headers object. Repeated names become arrays;
// kafkajs writes an object's names in insertion order, so a name's values
// keep their order only while they are adjacent (the tests keep them so).
function headersObject (list) {
  const obj = {}
  for (const [name, value] of list) {
    const v = fromB64(value)
    if (!(name in obj)) obj[name] = v
    else if (Array.isArray(obj[name])) obj[name].push(v)
    else obj[name] = [obj[name], v]
  }
  return obj
}

function headersList (obj) {
  const out = []
  for (const [name, value] of Object.entries(obj || {})) {
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, toB64(v)])
  }
  return out
}

async function produce () {
  if (!(cfg.codec in codecs.TYPES)) throw new Error(`unknown codec ${cfg.codec}`)
  const producer = kafka('samsa-itest-kafkajs-codec-producer').producer()
  await producer.connect()
  let records = 0
  try {
    for (const send of cfg.sends) {
      const messages = send.map((m) => ({ partition: m.p, key: fromB64(m.k), value: fromB64(m.v), headers: headersObject(m.h) }))
      await producer.send({ topic: cfg.topic, acks: -1, compression: codecs.TYPES[cfg.codec], messages })
      records += messages.length
    }
  } finally {
    await producer.disconnect()
  }
  console.log(JSON.stringify({ ok: true, sends: cfg.sends.length, records }))
  return 0
}

async function consume () {
  const consumer = kafka('samsa-itest-kafkajs-codec-consumer').consumer({
    groupId: cfg.groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    rebalanceTimeout: 10000,
    maxWaitTimeInMs: 100
  })
  let count = 0
  let reached
  const reachedPromise = new Promise((resolve) => { reached = resolve })
  let crashed
  const crashedPromise = new Promise((resolve) => { crashed = resolve })
  consumer.on(consumer.events.CRASH, (e) => {
    noteError(`consumer crashed: ${e.payload.error}`)
    crashed('crashed')
  })
  await consumer.connect()
  await consumer.subscribe({ topics: cfg.topics, fromBeginning: true })
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const lines = []
      for (const m of batch.messages) {
        lines.push(JSON.stringify({ t: batch.topic, p: batch.partition, o: m.offset, k: toB64(m.key), v: toB64(m.value), h: headersList(m.headers) }))
      }
      if (lines.length) process.stdout.write(lines.join('\n') + '\n')
      count += batch.messages.length
      if (count >= cfg.expected) reached()
    }
  })
  const outcome = await Promise.race([
    reachedPromise.then(() => new Promise((resolve) => setTimeout(() => resolve('reached'), cfg.settleMs ?? 300))),
    crashedPromise,
    new Promise((resolve) => setTimeout(() => resolve('timedOut'), timeoutMs))
  ])
  await consumer.disconnect()
  const timedOut = outcome === 'timedOut'
  console.log(JSON.stringify({ done: outcome === 'reached', count, timedOut, errors: clientErrors }))
  return outcome === 'reached' ? 0 : outcome === 'crashed' ? 1 : 3
}

async function codecFiles () {
  for (const c of cfg.cases) {
    const codec = codecs.codecs[c.codec]
    if (!codec) throw new Error(`no codec glue for ${c.codec}`)
    const input = fs.readFileSync(c.in)
    const output = c.op === 'compress' ? await codec.compress({ buffer: input }) : await codec.decompress(input)
    if (!Buffer.isBuffer(output)) throw new Error(`${c.codec} ${c.op} returned no Buffer`)
    fs.writeFileSync(c.out, output)
  }
  console.log(JSON.stringify({ ok: true, cases: cfg.cases.length }))
  return 0
}

const guard = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, done: false, error: `hard timeout in ${mode}`, errors: clientErrors }))
  process.exit(2)
}, timeoutMs + 20000)

codecs.register()
  .then(() => ({ produce, consume, codec: codecFiles })[mode]())
  .then(
    (code) => { clearTimeout(guard); process.exit(code) },
    (err) => {
      console.log(JSON.stringify({ ok: false, done: false, error: `${err && err.name}: ${err && err.message}`, errors: clientErrors }))
      clearTimeout(guard)
      process.exit(1)
    }
  )
