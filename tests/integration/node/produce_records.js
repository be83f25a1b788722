'use strict'
// Usage: node produce_records.js <host:port> <records.json> [timeout-ms]
// Produces the records described in records.json with a kafkajs producer,
// one send() per batch, in order, each with acks=-1:
//   {"topic": "t", "batches": [{"compression": "none" | "gzip" (| "snappy" | "lz4" | "zstd"
//     with node/codecs.js),
//     "messages": [{"p": 0, "k": <base64 or null>, "v": <base64 or null>,
//                   "h": [["name", <base64>], ...]}]}]}
// Prints one JSON line {"ok": true, "batches": n, "records": n} (or ok=false with the error).
// Exits 1 on a client error and 2 if the run exceeds the timeout.
const fs = require('fs')
const path = require('path')
const { Kafka, logLevel, CompressionTypes } = require('kafkajs')
// snappy, lz4 and zstd when node/codecs.js (pure-JS codec packages) is there
const extraCodecs = fs.existsSync(path.join(__dirname, 'codecs.js')) ? require('./codecs') : null

const [bootstrap, file] = process.argv.slice(2, 4)
const timeoutMs = Number(process.argv[4] || 60000)
if (!bootstrap || !file) {
  console.error('usage: node produce_records.js <host:port> <records.json> [timeout-ms]')
  process.exit(64)
}
const guard = setTimeout(() => {
  console.error(`produce_records did not finish within ${timeoutMs} ms`)
  process.exit(2)
}, timeoutMs)

const b64 = (s) => (s === null || s === undefined ? null : Buffer.from(s, 'base64'))
const CODECS = extraCodecs ? extraCodecs.TYPES : { none: CompressionTypes.None, gzip: CompressionTypes.GZIP }

async function main () {
  const spec = JSON.parse(fs.readFileSync(file, 'utf8'))
  if (extraCodecs) await extraCodecs.register()
  const kafka = new Kafka({ clientId: 'samsa-itest-kafkajs-producer', brokers: [bootstrap], logLevel: logLevel.NOTHING })
  const producer = kafka.producer()
  await producer.connect()
  let records = 0
  try {
    for (const batch of spec.batches) {
      if (!(batch.compression in CODECS)) throw new Error(`codec ${batch.compression} not available in kafkajs`)
      const messages = batch.messages.map((m) => {
        const headers = {}
        for (const [name, value] of m.h) headers[name] = b64(value)
        return { partition: m.p, key: b64(m.k), value: b64(m.v), headers }
      })
      await producer.send({ topic: spec.topic, acks: -1, compression: CODECS[batch.compression], messages })
      records += messages.length
    }
  } finally {
    await producer.disconnect()
  }
  console.log(JSON.stringify({ ok: true, batches: spec.batches.length, records }))
}

main().then(
  () => { clearTimeout(guard); process.exit(0) },
  (err) => {
    console.log(JSON.stringify({ ok: false, name: err && err.name, message: err && err.message }))
    clearTimeout(guard)
    process.exit(1)
  }
)
