'use strict'
// Usage: node group_consume.js <config.json>
// A kafkajs consumer-group member that reads until it has `expected` records
// (null: no limit), goes on reading for `settleMs` more (so duplicates would
// show), then disconnects; it also stops when `stopFile` (optional) appears.
// Every record is resolved as it is read and the resolved offsets are
// committed at the end of each batch (commitOffsetsIfNecessary).
//   {"brokers": ["h:p"], "groupId": "g", "topics": ["t"], "expected": 100,
//    "settleMs": 1000, "timeoutMs": 60000, "fromBeginning": true, "stopFile": null,
//    "sessionTimeout": 6000, "heartbeatInterval": 500, "clientId": "..."}
// SAMSA_KAFKAJS_LOG=debug|info|warn|error shows kafkajs' own log on stderr.
// Prints one JSON line per record, in arrival order:
//   {"p": 0, "o": "12", "k": <base64|null>, "v": <base64|null>, "h": [["name", <base64>], ...]}
// then {"done": true, "count": n, "timedOut": bool, "crashes": ["<error>", ...],
//   "joins": [{"memberId", "leaderId", "isLeader", "protocol", "assignment": {topic: [partitions]}}]}.
// Exits 0 when `expected` was reached or the stop file appeared, 3 when the timeout came
// first, 1 on a client error.
const fs = require('fs')
const path = require('path')
const { Kafka, logLevel } = require('kafkajs')
// snappy, lz4 and zstd when node/codecs.js (pure-JS codec packages) is there
const extraCodecs = fs.existsSync(path.join(__dirname, 'codecs.js')) ? require('./codecs') : null

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const timeoutMs = cfg.timeoutMs || 60000
const out = []
const joins = []
const crashes = []
let count = 0

const b64 = (buf) => (buf === null || buf === undefined ? null : buf.toString('base64'))

function flush () {
  process.stdout.write(out.join('\n') + (out.length ? '\n' : ''))
  out.length = 0
}

async function main () {
  if (extraCodecs) await extraCodecs.register()
  const kafka = new Kafka({
    clientId: cfg.clientId || 'samsa-itest-kafkajs-consumer',
    brokers: cfg.brokers,
    logLevel: logLevel[(process.env.SAMSA_KAFKAJS_LOG || 'nothing').toUpperCase()] ?? logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100 }
  })
  const consumer = kafka.consumer({
    groupId: cfg.groupId,
    sessionTimeout: cfg.sessionTimeout || 6000,
    heartbeatInterval: cfg.heartbeatInterval || 500,
    rebalanceTimeout: cfg.rebalanceTimeout || 10000,
    maxWaitTimeInMs: 100
  })
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    joins.push({
      memberId: e.payload.memberId,
      leaderId: e.payload.leaderId,
      isLeader: e.payload.isLeader,
      protocol: e.payload.groupProtocol,
      assignment: e.payload.memberAssignment
    })
  })
  // A crash makes kafkajs restart the consumer (a new member): report why.
  consumer.on(consumer.events.CRASH, (e) => {
    const err = e.payload.error
    crashes.push(`${err && err.name}: ${err && err.message}`)
  })
  let reached
  const reachedPromise = new Promise((resolve) => { reached = resolve })
  await consumer.connect()
  await consumer.subscribe({ topics: cfg.topics, fromBeginning: cfg.fromBeginning !== false })
  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
      for (const m of batch.messages) {
        const h = []
        for (const [name, value] of Object.entries(m.headers || {})) {
          for (const v of Array.isArray(value) ? value : [value]) h.push([name, b64(v)])
        }
        out.push(JSON.stringify({ p: batch.partition, o: m.offset, k: b64(m.key), v: b64(m.value), h }))
        count++
        resolveOffset(m.offset)
      }
      flush()
      await heartbeat()
      await commitOffsetsIfNecessary()
      if (cfg.expected !== null && count >= cfg.expected) reached()
    }
  })
  const stopped = new Promise((resolve) => {
    if (!cfg.stopFile) return
    const timer = setInterval(() => {
      if (fs.existsSync(cfg.stopFile)) {
        clearInterval(timer)
        resolve(false)
      }
    }, 50)
  })
  const timedOut = await Promise.race([
    reachedPromise.then(() => new Promise((resolve) => setTimeout(() => resolve(false), cfg.settleMs || 0))),
    stopped,
    new Promise((resolve) => setTimeout(() => resolve(true), timeoutMs))
  ])
  await consumer.disconnect()
  flush()
  console.log(JSON.stringify({ done: true, count, timedOut, joins, crashes }))
  return timedOut ? 3 : 0
}

const guard = setTimeout(() => {
  flush()
  console.log(JSON.stringify({ done: false, count, joins, crashes, error: 'hard timeout' }))
  process.exit(2)
}, timeoutMs + 30000)

main().then(
  (code) => { clearTimeout(guard); process.exit(code) },
  (err) => {
    flush()
    console.log(JSON.stringify({ done: false, count, joins, crashes, error: `${err && err.name}: ${err && err.message}` }))
    clearTimeout(guard)
    process.exit(1)
  }
)
